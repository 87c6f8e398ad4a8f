"""`closeout undo --on D` undoes the close-outs run on day D (Exact: "de datum of de data
waarop de afletteringen ... zijn uitgevoerd"), a local day, whatever date they posted at;
`--on A..B` the days from A to B."""

import datetime as dt
import time

import pytest

from tests.builders import receive
from tests.test_closeout import acme, order, refused, run  # noqa: F401 (acme: a fixture)


def three_closeouts(books, tmp_path):
    """Close-outs 1, 2 and 3, all posted at 2026-06-30, run at 21:30, 22:30 and 23:30 UTC
    on 1 July: 23:30 on 1 July, 00:30 and 01:30 on 2 July in Brussels."""
    with books.session() as s:
        for n in (1, 2, 3):
            order(s, f"PO-{n}", ("BOLT", 10, "5.00"))
            receive(s, f"PO-{n}", 1, 4, number=f"R-{n}")
    for n in (1, 2, 3):
        with pytest.MonkeyPatch.context() as clock:  # run then: a close-out's row is not edited (migration 0012)
            clock.setattr("matching.closeout.utc_now", lambda: dt.datetime(2026, 7, 1, 20 + n, 30))
            run(books, "run", "--order", f"PO-{n}", "--close-fully", "--date", "2026-06-30")


def undone(report_list):
    return [r["undo_of"] for r in report_list]


def test_on_names_the_local_day_they_ran_not_the_date_they_posted_at(acme, tmp_path, brussels):
    three_closeouts(acme, tmp_path)
    assert "no close-out matches" in refused(acme, "undo", "--on", "2026-06-30")  # their posting date
    listed = run(acme, "list")
    assert [c["run_at"] for c in listed] == ["2026-07-01T23:30:00+02:00", "2026-07-02T00:30:00+02:00",
                                             "2026-07-02T01:30:00+02:00"]
    assert undone(run(acme, "undo", "--on", "2026-07-02", "--trial")) == [3, 2]
    assert undone(run(acme, "undo", "--on", "2026-07-01")) == [1]
    assert undone(run(acme, "undo", "--on", "..2026-07-02")) == [3, 2]  # newest first; 1 is undone already
    assert [c["undone_by"] for c in run(acme, "list")] == ["ann"] * 3


def test_on_a_range_of_days(acme, tmp_path, brussels):
    three_closeouts(acme, tmp_path)
    assert undone(run(acme, "undo", "--on", "2026-07-02..", "--trial")) == [3, 2]
    assert undone(run(acme, "undo", "--on", "2026-06-01..2026-07-01", "--trial")) == [1]
    assert "no close-out matches" in refused(acme, "undo", "--on", "2026-07-03..")
    shown = acme.cli("closeout", "show", "2")
    assert "run at 2026-07-02T00:30:00+02:00" in shown.stdout


def test_on_a_date_that_is_none_is_a_usage_mistake(acme):
    result = acme.cli("closeout", "undo", "--on", "2026-13-45")
    assert result.exit_code == 2 and "2026-13-45" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Etc/GMT+12"])
@pytest.mark.parametrize("days", ["9999-12-31", "0001-01-01..9999-12-31", "0001-01-01", "..9999-12-31"])
def test_on_days_at_the_edges_of_the_calendar_select_as_open_ends(acme, tmp_path, monkeypatch, zone, days):
    """A script leaves an end open with the calendar's last or first day: in a zone ahead
    of UTC or behind it, the stored time of that day's edge lies beyond what a time holds;
    it selects as an open end (before: "internal error (OverflowError ...)")."""
    three_closeouts(acme, tmp_path)
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        if days in ("9999-12-31", "0001-01-01"):
            assert "no close-out matches" in refused(acme, "undo", "--on", days, "--trial")
        else:
            assert undone(run(acme, "undo", "--on", days, "--trial")) == [3, 2, 1]
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
