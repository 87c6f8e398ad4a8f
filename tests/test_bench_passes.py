"""`python -m bench passes`: trial, trial again and run on one book, the same totals each pass."""

import json

from bench.__main__ import passes_bench


def test_the_passes_run_one_after_the_other_and_post_the_same_totals(fresh_url, tmp_path):
    result = passes_bench(300, fresh_url, tmp_path, vacuum=True)
    assert [p["phase"] for p in result["passes"]] == ["trial", "trial", "run"]
    assert all(p["seconds"] > 0 for p in result["passes"])
    totals = [json.dumps(p["totals"], sort_keys=True) for p in result["passes"]]
    assert len(set(totals)) == 1 and result["passes"][0]["totals"]["debit"] != "0.00"
    assert ("vacuum" in result) == (result["db"] == "postgresql")
