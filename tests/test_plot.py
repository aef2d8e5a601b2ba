"""The paper's figures: panels, lines, bands, log2 axes, PNG and SVG files."""

from __future__ import annotations

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection

from bench.analysis import plot, ticks
from bench.cli import main
from bench.results import read as report


@pytest.fixture
def rows(make_results_db, case_row):
    """Two methods, two seeds, ratios 1..8 on one (dataset, arch), and one row on another arch."""
    made = [case_row(m, r, s, 0.9 - (0.01 if m == "a" else 0.02) * r + 0.01 * s)
            for m in ("a", "b") for r in (1, 2, 4, 8) for s in (0, 1)]
    made.append(case_row("a", 2, 0, 0.5, arch="other", case_id="a-toy-other-r2-s0", nodeid="o"))
    path = make_results_db("p.duckdb", {"run": made})
    con = report.open_db(path)
    try:
        return path, report.load_rows(con)
    finally:
        con.close()


def test_one_panel_per_dataset_arch_and_axis_with_a_line_per_method(rows):
    fig = plot.figure(rows[1], x="both", y="top1")
    assert len(fig.axes) == 4  # 2 (dataset, arch) x 2 x axes
    ax = fig.axes[0]  # toy / net (sorted), against compression
    assert ax.get_title() == "toy / net: top-1 vs compression" and ax.get_xscale() == "log"
    assert fig.axes[1].get_title() == "toy / net: top-1 vs theoretical speedup"
    assert ax.xaxis.get_transform().base == 2
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"a", "b", "dense"}
    assert list(lines["a"].get_xdata()) == [1, 2, 4, 8]
    # mean over the two seeds, in percent: 0.9 - 0.01 r + 0.005
    assert list(lines["a"].get_ydata()) == pytest.approx([90.5 - r for r in (1, 2, 4, 8)])
    assert lines["dense"].get_ydata()[0] == pytest.approx(90.0)
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2  # one std band per method
    speed = fig.axes[1]
    assert list(speed.get_lines()[0].get_xdata()) == [1.0, 1.5, 2.5, 4.5]  # theoretical speedup


def test_change_from_dense(rows):
    fig = plot.figure(rows[1], x="compression", y="delta")
    ax = fig.axes[0]
    assert len(fig.axes) == 2
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert lines["dense"].get_ydata()[0] == 0
    assert list(lines["b"].get_ydata()) == pytest.approx([0.5 - 2 * r for r in (1, 2, 4, 8)])


def test_bad_choices_say_what_is_valid(rows):
    with pytest.raises(ValueError, match="compression, speedup"):
        plot.figure(rows[1], x="flops")
    with pytest.raises(ValueError, match="no passed cases"):
        plot.figure([])
    with pytest.raises(ValueError, match=r"\.png or \.svg"):
        plot.save(plot.figure(rows[1]), "out.jpg")


def test_fit_for_print_legend_outside_styles_without_colour_band_named(make_results_db, case_row,
                                                                      tmp_path):
    made = [case_row(m, r, s, 0.9 - 0.01 * r + 0.01 * s) for m in
            ("magnitude_global", "magnitude_layer", "random") for r in (1, 2, 4) for s in (0, 1)]
    con = report.open_db(make_results_db("s.duckdb", {"run": made}))
    try:
        fig = plot.figure(report.load_rows(con))
    finally:
        con.close()
    assert all(ax.get_legend() is None for ax in fig.axes) and len(fig.legends) == 1
    legend = fig.legends[0]
    texts = [t.get_text() for t in legend.get_texts()]
    assert texts == ["magnitude_global", "magnitude_layer", "random", "dense", plot.BAND]
    FigureCanvasAgg(fig).draw()  # lay the figure out as saving does
    box = legend.get_window_extent()
    assert not any(box.overlaps(ax.get_window_extent()) for ax in fig.axes)  # outside the data
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    styles = {m: (lines[m].get_linestyle(), lines[m].get_marker()) for m in
              ("magnitude_global", "magnitude_layer", "random")}
    assert len(set(styles.values())) == 3  # told apart without colour
    assert lines["magnitude_global"].get_color() != lines["magnitude_layer"].get_color()
    out = plot.save(fig, tmp_path / "f.pdf")
    assert out.read_bytes()[:5] == b"%PDF-"


def test_the_plot_command_writes_png_and_svg(rows, tmp_path, capsys):
    png, svg = tmp_path / "f.png", tmp_path / "f.svg"
    assert main(["plot", "--db", str(rows[0]), "-o", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["plot", "--db", str(rows[0]), "-o", str(svg), "--y", "delta", "--arch", "net"]) == 0
    assert "<svg" in svg.read_text()[:500]
    assert "wrote" in capsys.readouterr().out


def test_accuracy_against_training_cost(make_results_db, case_row):
    made = [case_row("a", r, 0, 0.8, protocol=p, train_steps=steps * r, pretrain_steps=pre,
                     case_id=f"a-r{r}-{p}", nodeid=f"x[{r}-{p}]")
            for r in (2, 4) for p, steps, pre in (("oneshot", 10, 100), ("imp", 50, 100))]
    con = report.open_db(make_results_db("c.duckdb", {"run": made}))
    try:
        rows = report.load_rows(con)
    finally:
        con.close()
    ax = plot.figure(rows, x="cost").axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines["a (protocol=imp)"].get_xdata()) == [200, 300]  # pretraining + 50 r
    assert list(lines["a (protocol=oneshot)"].get_xdata()) == [120, 140]


def _measured_rows(case_row) -> list[dict]:
    """Five methods of one panel whose measured speedups lie between 0.8x and 1.7x."""
    out = []
    for method, fast in (("channel_l1", 1.6), ("channel_l1_layer", 1.4), ("channel_taylor", 1.5),
                         ("magnitude_global", 0.95), ("nm_magnitude", 0.9)):
        for ratio in (2, 4):
            out += [case_row(method, ratio, seed, 0.8 - 0.01 * ratio, latency_batch_stable=True,
                             speedup_measured_batch=fast * (ratio / 4) ** 0.2) for seed in (0, 1)]
    return out


def test_a_narrow_measured_axis_has_readable_ratio_ticks(case_row):
    fig = plot.figure(_measured_rows(case_row), x="measured")
    FigureCanvasAgg(fig).draw()
    ax = fig.axes[0]
    low, high = ax.get_xlim()
    shown = [t.get_text() for t in ax.get_xticklabels() if low <= t.get_position()[0] <= high]
    assert len(shown) >= 3 and {"1x", "1.5x"} <= set(shown)
    assert all(text.endswith("x") and "^" not in text for text in shown)
    assert not [t for t in ax.get_xticklabels(minor=True) if t.get_text()]


def test_ratio_ticks_on_wide_and_very_narrow_ranges():
    assert ticks.ratio_ticks(0.9, 40) == [1, 2, 4, 8, 16, 32]
    assert ticks.ratio_ticks(1.7, 5) == [2, 3, 4]
    narrow = ticks.ratio_ticks(0.97, 1.03)
    assert len(narrow) >= 3 and all(0.97 <= t <= 1.03 for t in narrow)
    assert [ticks.label(v) for v in (1, 1.5, 0.75, 12)] == ["1x", "1.5x", "0.75x", "12x"]


def test_each_method_of_a_panel_has_its_own_colour_and_legend_entry(case_row):
    fig = plot.figure(_measured_rows(case_row), x="speed")
    methods = ["channel_l1", "channel_l1_layer", "channel_taylor", "magnitude_global", "nm_magnitude"]
    for ax in fig.axes:
        lines = {line.get_label(): line.get_color() for line in ax.get_lines()}
        assert len({tuple(lines[m]) for m in methods}) == len(methods)
    assert [t.get_text() for t in fig.legends[0].get_texts()][:len(methods)] == methods
    assert len(set(plot.colours([f"m{i}" for i in range(25)]).values())) == 25
