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


def test_each_round_times_every_phase_on_both_books_and_alternates_which_goes_first(fresh_url, tmp_path):
    result = growth_bench(40, 160, fresh_url, tmp_path, rounds=2)
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


def test_the_command_prints_the_table_and_writes_the_json(tmp_path, capsys):
    out = tmp_path / "growth.json"
    assert main(["growth", "--small", "30", "--large", "90", "--rounds", "1", "--workdir", str(tmp_path / "w"),
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "30 -> 90 lines" in printed and "floor" in printed
    saved = json.loads(out.read_text())
    assert saved["db"] == "sqlite" and set(saved["growth"]) == set(PHASES)


@pytest.mark.parametrize("small,large,rounds,message", [(100, 100, 1, "fewer lines"), (0, 100, 1, "fewer lines"),
                                                        (10, 100, 0, "at least one round")])
def test_refuses_sizes_that_measure_nothing(tmp_path, small, large, rounds, message):
    with pytest.raises(SystemExit, match=message):
        growth_bench(small, large, None, tmp_path, rounds)
