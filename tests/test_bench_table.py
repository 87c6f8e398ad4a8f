"""The tables docs/benchmarks.md is made of (`python -m bench table`), from bench results."""

from bench.table import tables


def result(db, lines, run_seconds, floor_seconds):
    phase = {"seconds": run_seconds, "rows": lines * 2, "peak_rss_mb": 90.0, "ratio": round(run_seconds / floor_seconds, 2)}
    return {"lines": lines, "db": db, "floor": {"rows": lines * 2, "seconds": floor_seconds}, "peak_rss_mb": 200.0,
            "closeout_peak_rss_mb": 90.0, "check": "passed", "import_lines_per_second": 9000,
            "closeout_lines": lines // 2, "closeout_entries": lines // 7,
            "phases": {"import": dict(phase, document_lines=lines * 3), "run": phase}}


def test_the_table_orders_databases_and_sizes_and_states_the_growth_per_line():
    text = tables([result("postgresql", 10_000, 2.0, 0.05), result("sqlite", 100_000, 13.0, 0.5),
                   result("sqlite", 10_000, 1.0, 0.05)])
    lines = text.splitlines()
    assert lines[0] == "| phase: seconds (ratio to the floor) | SQLite 10,000 | SQLite 100,000 | PostgreSQL 10,000 |"
    assert "| runs (medians of) | 1 | 1 | 1 |" in lines
    assert "| run | 1.0 (20.0) | 13.0 (26.0) | 2.0 (40.0) |" in lines
    assert "| report_pdf | - | - | - |" in lines
    # 1.0 s for 10,000 lines, then 13.0 s for 100,000: 30 % more time per line
    assert lines[-1] == "- SQLite, 10,000 -> 100,000 lines, time per line: import +30 %, run +30 %"


def test_runs_of_one_size_merge_into_their_medians():
    runs = [result("sqlite", 10_000, seconds, floor) for seconds, floor in ((1.0, 0.05), (3.0, 0.04), (1.2, 0.06))]
    text = tables(runs)
    assert "| runs (medians of) | 3 |" in text
    assert "| floor: rows, seconds | 20,000, 0.05 |" in text
    assert "| run | 1.2 (24.0) |" in text  # median 1.2 s over the median floor 0.05 s


def test_the_schema_floor_shows_as_a_multiple_of_the_floor_and_of_the_run():
    runs = [result("postgresql", 10_000, seconds, 0.05) for seconds in (1.0, 1.5, 2.0)]
    for run, schema in zip(runs, (0.2, 0.3, 0.5)):
        run["schema_floor"] = {"rows": 20_000, "updated": 5_000, "seconds": schema}
    old = result("sqlite", 10_000, 1.0, 0.05)  # a result from before the schema floor was measured
    text = tables(runs + [old])
    # medians: schema floor 0.3 s = 6.0 x the 0.05 s floor; the run's 1.5 s is 5.0 x it
    assert "| schema floor: seconds (x the floor; the run / it) | - | 0.3 (6.0 x; 5.0) |" in text
    assert "| driver floor: seconds (x the floor; the run / it) | - | - |" in text  # measured later still


def test_the_driver_floor_shows_beside_the_schema_floor():
    runs = [result("sqlite", 10_000, seconds, 0.05) for seconds in (1.0, 1.5, 2.0)]
    for run, schema, by_driver in zip(runs, (0.04, 0.05, 0.06), (0.1, 0.075, 0.08)):
        run["schema_floor"] = {"rows": 20_000, "updated": 5_000, "seconds": schema}
        run["driver_floor"] = {"rows": 20_000, "updated": 5_000, "seconds": by_driver}
    text = tables(runs)
    # medians: the driver's 0.08 s = 1.6 x the 0.05 s floor; the run's 1.5 s is 18.8 x it
    assert "| schema floor: seconds (x the floor; the run / it) | 0.05 (1.0 x; 30.0) |" in text
    assert "| driver floor: seconds (x the floor; the run / it) | 0.08 (1.6 x; 18.8) |" in text
