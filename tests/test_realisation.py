"""Measured beside theoretical speedup: the realisation view, measured winners, the plot's
measured axis."""

from __future__ import annotations

import pytest

from bench.analysis import plot, realisation


@pytest.fixture
def rows(case_row):
    """A channel method that delivers most of its speedup and a mask method that delivers none,
    three seeds each."""
    out = []
    for seed, jitter in enumerate((0.9, 1.0, 1.1)):
        for ratio in (2, 4):
            out.append(case_row("chan", ratio, seed, 0.80 - 0.05 * ratio, method_kind="channel",
                                speedup_theoretical=float(ratio), speedup_measured=jitter,
                                speedup_measured_batch=0.8 * ratio * jitter,
                                realisation_gap=jitter / ratio,
                                realisation_gap_batch=0.8 * jitter, latency_batch_size=256,
                                latency_backend="dense", device="cpu", latency_threads=1,
                                latency_dtype="float32"))
            out.append(case_row("mask", ratio, seed, 0.85 - 0.01 * ratio, method_kind="unstructured",
                                speedup_theoretical=float(ratio), speedup_measured=1.0,
                                speedup_measured_batch=1.0 + 0.01 * ratio * jitter,
                                realisation_gap=1 / ratio, realisation_gap_batch=1 / ratio,
                                latency_batch_size=256, latency_backend="dense-masked",
                                device="cpu", latency_threads=1, latency_dtype="float32"))
    return out


def test_the_realisation_view_gives_median_iqr_and_gap_per_method(rows):
    table = {(r["method"], r["ratio"]): r for r in realisation.realisation_table(rows)}
    chan = table[("chan", 4)]
    assert chan["n"] == 3 and chan["speedup theor."] == 4
    assert chan["meas. batch"] == pytest.approx(3.2)
    assert chan["meas. batch IQR"] == pytest.approx(0.8 * 4 * 0.1)  # 75th - 25th of 0.9..1.1
    assert chan["gap batch"] == pytest.approx(0.8) and chan["backend"] == "dense"
    assert table[("mask", 4)]["gap batch"] == pytest.approx(0.25)
    assert table[("mask", 4)]["backend"] == "dense-masked" and chan["threads"] == "1"


def test_later_timings_of_the_kept_models_stand_beside_the_run_s(rows):
    chan = [r | {"run_id": "run", "nodeid": f"n{i}", "model_sha256": f"h{i}"}
            for i, r in enumerate(rows) if r["method"] == "chan" and r["ratio"] == 4]
    timings = [{"run_id": "run", "nodeid": r["nodeid"], "model_sha256": r["model_sha256"],
                "speedup_measured_batch": value, "latency_batch_stable": True}
               for r, value in zip(chan, (3.0, 3.4, 3.8), strict=True)]
    timings.append(timings[0] | {"speedup_measured_batch": 9.0, "latency_batch_stable": False})
    timings.append(timings[1] | {"speedup_measured_batch": 9.0, "model_sha256": "other file"})
    (line,) = [t for t in realisation.realisation_table(chan, timings)]
    assert line["retimed"] == 4 and line["retimed unstable"] == 1  # the other file's is not theirs
    assert line["retimed batch"] == pytest.approx(3.4) and line["retimed range"] == "3-3.8"
    assert line["retimed gap"] == pytest.approx(3.4 / 4)
    assert "retimed" not in realisation.realisation_table(chan)[0]  # no timings: no columns


def test_the_best_method_at_a_measured_speedup_differs_from_the_theoretical_one(rows):
    by_level = {r["level"]: r for r in realisation.measured_winners_table(rows, levels=(2,))}
    assert by_level[2]["best at theoretical"] == "mask"  # more accurate at 2x fewer MACs
    assert by_level[2]["best at measured"] == "chan"  # the only one that is 2x faster


def test_a_method_under_two_targets_has_a_curve_per_target(rows):
    """Params- and MAC-target cases of one method at one ratio are different models: their
    curves are not averaged together, and the winner is named with its target."""
    rows = [r | {"target": "params"} for r in rows]
    macs = [r | {"target": "macs", "top1": r["top1"] + 0.1} for r in rows if r["method"] == "chan"]
    plain = realisation.measured_winners_table(rows, levels=(2,))[0]
    by_level = {r["level"]: r for r in realisation.measured_winners_table(rows + macs, levels=(2,))}
    assert by_level[2]["best at measured"] == "chan (target=macs)"
    assert by_level[2]["top1 at measured"] == pytest.approx(plain["top1 at measured"] + 0.1)
    assert by_level[2]["best at theoretical"] == "mask (target=params)"


def test_a_target_met_to_rounding_is_at_its_level(rows):
    """A MAC target met to 2.00006 reaches the 2x level (a curve is never extrapolated beyond
    its ends, but its ends count)."""
    mask = [r | {"speedup_theoretical": r["ratio"] * 1.00003} for r in rows if r["method"] == "mask"]
    (line,) = realisation.measured_winners_table(mask, levels=(2,))
    assert line["best at theoretical"] == "mask"
    assert line["top1 at theoretical"] == pytest.approx(0.85 - 0.02)


def test_retimed_kept_models_stand_in_for_the_run_s_measured_speedup(rows):
    chan = [r | {"run_id": "run", "nodeid": f"n{i}", "model_sha256": "h"}
            for i, r in enumerate(rows) if r["method"] == "chan"]
    timings = [{"run_id": "run", "nodeid": "n0", "model_sha256": "h", "latency_batch_stable": True,
                "speedup_measured_batch": v} for v in (1.9, 2.1, 2.0)]
    timed = realisation.with_retimed(chan, timings)
    assert timed[0]["speedup_measured_batch"] == pytest.approx(2.0)
    assert timed[0]["speedup_source"] == "retimed"
    assert all(r["speedup_source"] == "run" and r == chan[i] | {"speedup_source": "run"}
               for i, r in enumerate(timed) if i)


def test_the_plot_draws_measured_beside_theoretical(rows):
    fig = plot.figure(rows, x="speed")
    assert [ax.get_xlabel().split()[0] for ax in fig.axes] == ["theoretical", "measured"]
    no_latency = [{k: v for k, v in r.items() if k != "speedup_measured_batch"} for r in rows]
    assert len(plot.figure(no_latency, x="all").axes) == 2


def test_the_plot_tells_a_method_s_conditions_apart_by_marker_fill(rows):
    rows = [r | {"target": "params"} for r in rows]
    macs = [r | {"target": "macs"} for r in rows if r["method"] == "chan"]
    fig = plot.figure(rows + macs, x="speed")
    fills = {line.get_label(): line.get_markerfacecolor() for line in fig.axes[0].get_lines()
             if line.get_label().startswith("chan")}
    assert fills["chan (target=macs)"] != "white" and fills["chan (target=params)"] == "white"


def _one_unstable(rows: list[dict]) -> list[dict]:
    """`rows` with seed 0 of chan at 4x timed as 0.042x and flagged unstable at both batches."""
    return [r | {"speedup_measured": 0.042, "speedup_measured_batch": 0.042,
                 "realisation_gap": 0.0105, "realisation_gap_batch": 0.0105,
                 "latency_stable": False, "latency_batch_stable": False,
                 "latency_unstable_reason": "batch 1: IQR 249% of the median"}
            if (r["method"], r["ratio"], r["seed"]) == ("chan", 4, 0) else r for r in rows]


def test_the_realisation_view_leaves_out_and_counts_unstable_timings(rows):
    table = {(r["method"], r["ratio"]): r for r in realisation.realisation_table(_one_unstable(rows))}
    chan = table[("chan", 4)]
    assert chan["n"] == 3 and chan["unstable b1"] == 1 and chan["unstable batch"] == 1
    assert chan["meas. b1"] == pytest.approx(1.05)  # the median of 1.0 and 1.1, not of 0.042
    assert chan["meas. batch"] == pytest.approx(0.8 * 4 * 1.05)
    assert chan["gap b1"] == pytest.approx(1.05 / 4) and chan["gap batch"] == pytest.approx(0.84)
    assert table[("chan", 2)]["unstable b1"] == 0 and table[("chan", 2)]["unstable batch"] == 0


def test_the_measured_winners_leave_out_unstable_timings(rows):
    """Every seed of chan at 2x timed as a 40x speedup, all flagged unstable: no curve of chan
    reaches 4x measured (its stable 4x points are at 3.2x)."""
    fast = [r | {"speedup_measured_batch": 40.0, "latency_batch_stable": False}
            if (r["method"], r["ratio"]) == ("chan", 4) else r for r in rows]
    (line,) = realisation.measured_winners_table(fast, levels=(4,))
    assert line["best at measured"] is None


def test_the_realisation_report_marks_an_unstable_timing(rows, make_results_db, capsys):
    from bench.cli import main

    db = make_results_db("r.duckdb", {"run1": [
        r | {"case_id": f"{r['method']}-{r['ratio']}-{r['seed']}",
             "nodeid": f"x::t[{r['method']}-{r['ratio']}-{r['seed']}]"} for r in _one_unstable(rows)]})
    assert main(["report", "--db", str(db), "--view", "realisation"]) == 0
    out = capsys.readouterr().out
    assert "0.042" not in out and "unstable b1" in out
    (chan,) = [line for line in out.splitlines() if " chan " in f" {line} " and " 4 " in line]
    assert "1.05" in chan


def test_the_plot_leaves_out_unstable_measured_speedups(rows):
    fig = plot.figure(_one_unstable(rows), x="measured")
    (chan,) = [line for line in fig.axes[0].get_lines() if line.get_label() == "chan"]
    assert max(chan.get_xdata()) == pytest.approx(0.8 * 4 * 1.05)
