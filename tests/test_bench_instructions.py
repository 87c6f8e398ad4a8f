"""`python -m bench instructions`: a phase's instructions counted by callgrind, its start taken off."""

import shutil

import pytest

from bench.__main__ import fresh_book, phase
from bench.instructions import collected, instructions

VALGRIND_TAIL = """==4242== Events    : Ir
==4242== Collected : 12099744587
==4242==
==4242== I   refs:      12,099,744,587
"""


def test_the_count_is_read_from_callgrinds_last_words():
    assert collected("{\"seconds\": 1}\n" + VALGRIND_TAIL) == 12_099_744_587


def test_output_without_a_count_is_refused_with_what_came():
    with pytest.raises(SystemExit, match="callgrind reported no count of instructions:\n==1== ERROR SUMMARY"):
        collected("==1== ERROR SUMMARY: 0 errors\n")


def test_without_valgrind_it_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(SystemExit, match=r"valgrind is not installed: .*\(apt install valgrind\)"):
        instructions("check", f"sqlite:///{tmp_path / 'x.db'}", tmp_path)


def test_an_unknown_phase_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="unknown phase start: one of import, trial, run, undo, check"):
        instructions("start", f"sqlite:///{tmp_path / 'x.db'}", tmp_path)


def test_the_start_phase_does_nothing_to_the_book(tmp_path):
    url, engine = fresh_book(50, None, tmp_path)
    engine.dispose()
    before = (tmp_path / "bench.db").read_bytes()
    out = phase("start", url, tmp_path, None, False)
    assert set(out) == {"seconds", "peak_rss_mb"}
    assert (tmp_path / "bench.db").read_bytes() == before


@pytest.mark.long
@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_a_phase_counts_the_same_twice_and_more_than_nothing(tmp_path):
    url, engine = fresh_book(200, None, tmp_path)
    engine.dispose()
    first = instructions("check", url, tmp_path)
    second = instructions("check", url, tmp_path)
    assert first["instructions"] > 0 and first["process"] == first["instructions"] + first["start"]
    assert abs(first["instructions"] - second["instructions"]) < 0.01 * first["instructions"]
