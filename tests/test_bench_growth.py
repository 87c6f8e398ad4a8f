"""`python -m bench growth`: each phase on a small and a large book back to back, the growth of
the time per line from the seconds measured, the order of the books alternating by round."""

import json

import pytest

from bench.__main__ import main
from bench.growth import PHASES, growth, growth_bench


def test_growth_is_the_large_books_time_per_line_over_the_small_ones():
    assert growth(1.0, 100, 20.0, 1000) == 1.0  # 10 ms a line, then 20 ms: +100 %
    assert growth(2.0, 100, 15.0, 1000) == -0.25
    assert growth(0.0, 100, 1.0, 1000) is None  # nothing measurable at the small size


def test_each_round_times_every_phase_on_both_books_and_alternates_which_goes_first(fresh_url, tmp_path, capsys):
    """The command as run for docs/benchmarks.md, once per database (each phase of each book is
    a process of its own, so a run costs seconds): its table printed, its JSON written."""
    out = tmp_path / "growth.json"
    assert main(["growth", "--small", "40", "--large", "160", "--rounds", "2", "--db", fresh_url,
                 "--workdir", str(tmp_path / "w"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "40 -> 160 lines" in printed and "floor" in printed
    result = json.loads(out.read_text())
    assert result["db"] == fresh_url.split(":")[0].split("+")[0] and set(result["growth"]) == set(PHASES)
    assert [r["order"] for r in result["rounds"]] == [[40, 160], [160, 40]]
    for r in result["rounds"]:
        for name in PHASES:
            small, large = r["seconds"]["40"][name], r["seconds"]["160"][name]
            assert small > 0 and large > 0
            assert r["growth"][name] == growth(small, 40, large, 160)
        assert r["floor"]["160"]["rows"] > r["floor"]["40"]["rows"] > 0
        assert r["document_lines"]["160"] > r["document_lines"]["40"] > 0
        assert r["closeout_lines"]["160"] > r["closeout_lines"]["40"] > 0
    for name in PHASES:
        rounds = sorted(r["growth"][name] for r in result["rounds"])
        assert result["growth"][name] == pytest.approx(sum(rounds) / 2, abs=1e-4)  # the median of two
        assert result["within_target"][name] == (result["growth"][name] <= 0.30)


@pytest.mark.parametrize("small,large,rounds,message", [(100, 100, 1, "fewer lines"), (0, 100, 1, "fewer lines"),
                                                        (10, 100, 0, "at least one round")])
def test_refuses_sizes_that_measure_nothing(tmp_path, small, large, rounds, message):
    with pytest.raises(SystemExit, match=message):
        growth_bench(small, large, None, tmp_path, rounds)
