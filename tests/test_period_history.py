"""Period locks keep their history (migration 0014): who locked or unlocked a period, and when.

A period's `locked` flag was all the books kept: an unlock, postings and a lock again left
no trace but the entries' dates, and a flag changed around pledger (`UPDATE periods SET
locked = false`) passed `check`. Now each change is a row of `period_lock_changes`
(append-only), `period history` lists them, and `check` proves each flag equals its last
change, and that the history is one pledger can have written (a row INSERTed around it, which
the triggers take, repeating a change, unlocking first, or "found" out of place, is named).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from ledger.db import make_engine
from migrations import runner
from tests.test_cli_refusals import refused

MESSAGE = "the history of period locks stays as it happened: lock or unlock the period again, never edit or delete a change"


def changes(books) -> list[tuple]:
    return [tuple(r) for r in books.raw(
        "SELECT f.year, p.month, c.locked, c.user_name, c.found FROM period_lock_changes c JOIN periods p ON p.id = c.period_id "
        "JOIN fiscal_years f ON f.id = p.fiscal_year_id ORDER BY c.id")]


def test_lock_and_unlock_record_who_and_when_and_nothing_when_nothing_changes(books):
    before = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    assert books.cli("period", "lock", "2026-03", user="ann").exit_code == 0
    already = books.cli("period", "lock", "2026-03", user="bob")
    assert (already.exit_code, already.stdout) == (0, "period 2026-03 locked already: nothing to change\n")
    assert books.cli("period", "unlock", "2026-03", user="bob").exit_code == 0
    assert books.cli("period", "unlock", "2026-03", user="carol").exit_code == 0  # nothing to change
    assert books.cli("period", "unlock", "2026-04", user="carol").exit_code == 0  # never locked: nothing to change
    assert books.cli("period", "lock", "2026-03", user="carol").exit_code == 0
    assert changes(books) == [(2026, 3, True, "ann", False), (2026, 3, False, "bob", False), (2026, 3, True, "carol", False)]
    moments = [r[0] for r in books.raw("SELECT changed_at FROM period_lock_changes ORDER BY id")]
    moments = [dt.datetime.fromisoformat(m) if isinstance(m, str) else m for m in moments]
    after = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    assert before <= moments[0] <= moments[1] <= moments[2] <= after  # UTC, as stored times are
    assert books.cli("check").exit_code == 0


def test_a_refused_lock_records_nothing(books):
    refused(books.cli("period", "lock", "2031-01"), 1,
            "period 2031-01 does not exist: open its fiscal year first with 'pledger year open 2031'")
    assert changes(books) == []


def test_the_history_refuses_update_and_delete(books):
    assert books.cli("period", "lock", "2026-03").exit_code == 0
    for sql, action in (("UPDATE period_lock_changes SET locked = false", "UPDATE"),
                        ("UPDATE period_lock_changes SET user_name = 'mallory'", "UPDATE"),
                        ("DELETE FROM period_lock_changes", "DELETE")):
        with pytest.raises(DBAPIError) as refusal:
            books.raw(sql)
        assert MESSAGE in str(refusal.value) and f"(table period_lock_changes, {action})" in str(refusal.value)
    assert changes(books) == [(2026, 3, True, "ann", False)]


@pytest.mark.postgresql_only
def test_the_history_refuses_truncate_on_postgresql(books):
    assert books.cli("period", "lock", "2026-03").exit_code == 0
    with pytest.raises(DBAPIError) as refusal:
        books.raw("TRUNCATE period_lock_changes")
    assert MESSAGE in str(refusal.value) and "(table period_lock_changes, TRUNCATE)" in str(refusal.value)
    assert len(changes(books)) == 1


def check_found(result, *breaches: str) -> None:
    """`check` failed, exit 1: each breach a line on stdout, the first named on stderr in one line."""
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("pledger: check failed"), result.stderr
    assert result.stdout == "".join(f"breach: {b}\n" for b in breaches)
    assert result.stderr == (f"pledger: check failed: {len(breaches)} breach{'es' if len(breaches) > 1 else ''}; "
                             f"the first: {breaches[0]}\n")


def _tamper(books, sql: str) -> None:
    """A change made around pledger: the periods table takes an UPDATE of `locked`."""
    books.raw(sql)


def test_check_finds_a_flag_changed_around_pledger(books, brussels):
    assert books.cli("period", "lock", "2026-03", user="ann").exit_code == 0
    at = books.raw("SELECT changed_at FROM period_lock_changes").scalar()
    at = dt.datetime.fromisoformat(at) if isinstance(at, str) else at
    shown = at.replace(tzinfo=dt.timezone.utc).astimezone().isoformat(timespec="seconds")
    _tamper(books, "UPDATE periods SET locked = false WHERE month = 3")
    check_found(books.cli("check"), f"period 2026-03: unlocked, and its last recorded change locked it (ann, {shown}): "
                                    "its flag was changed around pledger")
    assert shown.endswith("+01:00")  # local time, as other commands show times


def test_check_finds_a_period_locked_around_pledger_and_names_each(books):
    _tamper(books, "UPDATE periods SET locked = true WHERE month IN (5, 7)")
    check_found(books.cli("check"), *(f"period 2026-{m}: locked, and no lock of it is recorded: its flag was changed around pledger"
                                      for m in ("05", "07")))


FORGED_AT = dt.datetime(2026, 12, 6, 20, 0)  # UTC, as stored
FORGED_SHOWN = "2026-12-06T21:00:00+01:00"  # in Brussels
AROUND = "its history was changed around pledger"


def _forge(books, month: int, locked: bool, user: str | None = "mallory", found: bool = False) -> int:
    """A row INSERTed around pledger (the triggers refuse only UPDATE and DELETE): its id."""
    books.raw("INSERT INTO period_lock_changes (period_id, locked, user_name, changed_at, found) "
              "SELECT p.id, :locked, :user, :at, :found FROM periods p JOIN fiscal_years f ON f.id = p.fiscal_year_id "
              "WHERE f.year = 2026 AND p.month = :month", locked=locked, user=user, at=FORGED_AT, found=found, month=month)
    return books.raw("SELECT max(id) FROM period_lock_changes").scalar()


def _recorded(books) -> list[tuple[int, str]]:
    """(id, the time shown) of each change, oldest first."""
    rows = books.raw("SELECT id, changed_at FROM period_lock_changes ORDER BY id").all()
    return [(i, (at if isinstance(at, dt.datetime) else dt.datetime.fromisoformat(at))
             .replace(tzinfo=dt.timezone.utc).astimezone().isoformat(timespec="seconds")) for i, at in rows]


def test_check_finds_a_forged_lock_that_repeats_the_last(books, brussels):
    """The flag equals the newest change, so the flag's proof passes; two locks in a row do not."""
    assert books.cli("period", "lock", "2026-03", user="ann").exit_code == 0
    [(first, shown)] = _recorded(books)
    forged = _forge(books, 3, True)
    check_found(books.cli("check"), f"period 2026-03: row {forged} of its lock history locks it again (mallory, {FORGED_SHOWN}), "
                                    f"with no unlock since row {first} locked it (ann, {shown}): {AROUND}")


def test_check_finds_a_forged_unlock_that_repeats_the_last(books, brussels):
    for verb in ("lock", "unlock"):
        assert books.cli("period", verb, "2026-03", user="ann").exit_code == 0
    unlock, shown = _recorded(books)[1]
    forged = _forge(books, 3, False, user=None)
    check_found(books.cli("check"), f"period 2026-03: row {forged} of its lock history unlocks it again (no user, {FORGED_SHOWN}), "
                                    f"with no lock since row {unlock} unlocked it (ann, {shown}): {AROUND}")


def test_check_finds_a_forged_lock_after_the_period_was_found_locked(books, brussels):
    found = _forge(books, 8, True, user=None, found=True)
    _tamper(books, "UPDATE periods SET locked = true WHERE month = 8")  # as the migration found it
    forged = _forge(books, 8, True)
    check_found(books.cli("check"), f"period 2026-08: row {forged} of its lock history locks it again (mallory, {FORGED_SHOWN}), "
                                    f"with no unlock since it was found locked when its history began (row {found}: "
                                    f"{FORGED_SHOWN}): {AROUND}")


def test_check_finds_a_history_that_begins_with_an_unlock(books, brussels):
    forged = _forge(books, 4, False)
    check_found(books.cli("check"), f"period 2026-04: its lock history begins with an unlock (row {forged}: mallory, "
                                    f"{FORGED_SHOWN}), and a period is opened unlocked: {AROUND}")


def test_check_finds_a_found_row_that_is_not_the_first(books, brussels):
    assert books.cli("period", "lock", "2026-12", user="ann").exit_code == 0
    [(first, _)] = _recorded(books)
    forged = _forge(books, 12, True, user=None, found=True)
    check_found(books.cli("check"), f"period 2026-12: row {forged} of its lock history says it was found locked when its "
                                    f"history began ({FORGED_SHOWN}), yet row {first} came before it: {AROUND}")


def test_check_finds_a_found_row_that_says_unlocked(books, brussels):
    forged = _forge(books, 5, False, user=None, found=True)
    check_found(books.cli("check"), f"period 2026-05: row {forged} of its lock history says it was found unlocked when its "
                                    f"history began ({FORGED_SHOWN}), and only periods found locked were recorded: {AROUND}")


def test_check_names_every_impossible_row_in_period_order_then_the_flag(books, brussels):
    """Each impossible row, in period then id order; a period's flag breach after its history's."""
    assert books.cli("period", "lock", "2026-07", user="ann").exit_code == 0
    [(lock, shown)] = _recorded(books)
    later = _forge(books, 7, True)  # a second lock in a row
    unlock = _forge(books, 2, False)  # February begins with an unlock...
    again = _forge(books, 2, False)  # ... and unlocks again
    _tamper(books, "UPDATE periods SET locked = false WHERE month = 7")
    check_found(books.cli("check"),
                f"period 2026-02: its lock history begins with an unlock (row {unlock}: mallory, {FORGED_SHOWN}), "
                f"and a period is opened unlocked: {AROUND}",
                f"period 2026-02: row {again} of its lock history unlocks it again (mallory, {FORGED_SHOWN}), with no lock "
                f"since row {unlock} unlocked it (mallory, {FORGED_SHOWN}): {AROUND}",
                f"period 2026-07: row {later} of its lock history locks it again (mallory, {FORGED_SHOWN}), with no unlock "
                f"since row {lock} locked it (ann, {shown}): {AROUND}",
                f"period 2026-07: unlocked, and its last recorded change locked it (mallory, {FORGED_SHOWN}): "
                "its flag was changed around pledger")


def test_a_history_found_locked_then_changed_by_pledger_passes_check_and_is_listed(books, brussels):
    """What migration 0014 and pledger write: found locked first, then unlocks and locks in turn."""
    found = _forge(books, 6, True, user=None, found=True)
    _tamper(books, "UPDATE periods SET locked = true WHERE month = 6")  # as the migration found it
    for verb, user in (("unlock", "ann"), ("lock", "bob"), ("unlock", "carol")):
        assert books.cli("period", verb, "2026-06", user=user).exit_code == 0
    assert books.cli("check").exit_code == 0
    assert [r[0] for r in _recorded(books)][0] == found


def test_the_history_command_still_lists_impossible_rows(books, brussels):
    """`period history` shows what the table holds, forged rows too, for `check` to name."""
    assert books.cli("period", "lock", "2026-03", user="ann").exit_code == 0
    [(_, shown)] = _recorded(books)
    _forge(books, 3, True)
    _forge(books, 3, True, user=None, found=True)
    _forge(books, 4, False)
    data = json.loads(books.cli("period", "history", "--format", "json").stdout)
    assert data == [
        {"period": "2026-03", "locked": True, "found": False, "user": "ann", "at": shown},
        {"period": "2026-03", "locked": True, "found": False, "user": "mallory", "at": FORGED_SHOWN},
        {"period": "2026-03", "locked": True, "found": True, "user": None, "at": FORGED_SHOWN},
        {"period": "2026-04", "locked": False, "found": False, "user": "mallory", "at": FORGED_SHOWN},
    ]
    table = books.cli("period", "history")
    assert table.exit_code == 0
    assert [line.split() for line in table.stdout.splitlines()[3:]] == [
        ["2026-03", "locked", "ann", shown], ["2026-03", "locked", "mallory", FORGED_SHOWN],
        ["2026-03", "found", "locked", FORGED_SHOWN], ["2026-04", "unlocked", "mallory", FORGED_SHOWN]]


def test_the_history_command_lists_the_changes_in_every_format(books, brussels):
    assert books.cli("year", "open", "2027").exit_code == 0
    for args, user in ((("lock", "2026-03"), "ann"), (("unlock", "2026-03"), "bob"), (("lock", "2027-01"), "carol")):
        assert books.cli("period", *args, user=user).exit_code == 0
    moments = [m if isinstance(m, dt.datetime) else dt.datetime.fromisoformat(m)
               for (m,) in books.raw("SELECT changed_at FROM period_lock_changes ORDER BY id")]
    local = [m.replace(tzinfo=dt.timezone.utc).astimezone().isoformat(timespec="seconds") for m in moments]

    data = json.loads(books.cli("period", "history", "--format", "json").stdout)
    assert data == [
        {"period": "2026-03", "locked": True, "found": False, "user": "ann", "at": local[0]},
        {"period": "2026-03", "locked": False, "found": False, "user": "bob", "at": local[1]},
        {"period": "2027-01", "locked": True, "found": False, "user": "carol", "at": local[2]},
    ]
    one = books.cli("period", "history", "2026-03", "--format", "csv")
    assert one.exit_code == 0
    assert list(csv.reader(io.StringIO(one.stdout))) == [["period", "change", "user", "at"], ["2026-03", "locked", "ann", local[0]],
                                                         ["2026-03", "unlocked", "bob", local[1]]]
    table = books.cli("period", "history")
    assert table.exit_code == 0
    lines = table.stdout.splitlines()
    assert lines[0] == "Period locks"
    assert lines[1].split() == ["period", "change", "user", "at"]
    assert [line.split() for line in lines[3:]] == [["2026-03", "locked", "ann", local[0]], ["2026-03", "unlocked", "bob", local[1]],
                                                    ["2027-01", "locked", "carol", local[2]]]
    none = books.cli("period", "history", "2026-04")
    assert (none.exit_code, none.stdout) == (0, "Period locks\n(nothing)\n")
    assert json.loads(books.cli("period", "history", "2026-04", "--format", "json").stdout) == []
    # the other period commands say what they said before
    assert books.cli("period", "lock", "2026-05").stdout == "period 2026-05 locked\n"
    assert json.loads(books.cli("period", "list", "--format", "json").stdout)[2] == \
        {"period": "2026-03", "start": "2026-03-01", "end": "2026-03-31", "locked": False}


def test_the_history_command_refuses_a_period_that_does_not_exist_and_a_month_that_is_none(books):
    refused(books.cli("period", "history", "2031-01"), 1,
            "period 2031-01 does not exist: open its fiscal year first with 'pledger year open 2031'")
    for command in ("history", "lock", "unlock"):  # the month as typed: it said 'period 0-01'
        refused(books.cli("period", command, "0000-01"), 1,
                "period 0000-01 does not exist: pledger keeps the years 1900 to 9999 (a typing mistake?)")
    bad = books.cli("period", "history", "2026-13")
    assert (bad.exit_code, bad.stdout) == (2, "")
    assert "2026-13" in bad.stderr


@pytest.mark.parametrize("month", ["\uff12\uff10\uff12\uff16-\uff10\uff13", "\u0662\u0660\u0662\u0666-\u0660\u0663"],
                         ids=["fullwidth", "arabic-indic"])
def test_a_month_is_typed_in_ascii_digits_as_a_date_is(books, month):
    """'２０２６-０３' locked 2026-03 (the month's pattern took any digit, as str.isdigit()
    does), where '--date ２０２６-０３-01' is a usage mistake: a month is one too, and nothing
    is locked."""
    for command in ("lock", "unlock", "history"):
        refused(books.cli("period", command, month), 2,
                f"Invalid value for '{'[MONTH]' if command == 'history' else 'MONTH'}': '{month}' is not a month: "
                f"write YYYY-MM, e.g. 2026-11 (see 'pledger period {command} --help')")
    assert changes(books) == []


def test_the_history_command_is_read_only(books):
    from tests.fingerprint import fingerprint

    assert books.cli("period", "lock", "2026-03").exit_code == 0
    with books.session() as s:
        before = fingerprint(s)
    assert books.cli("period", "history").exit_code == 0
    with books.session() as s:
        assert fingerprint(s) == before


def test_0014_records_the_periods_it_finds_locked_as_found_and_its_downgrade_leaves_0013(fresh_url, brussels):
    """A book at 0013 with a locked period: the migration says it was found locked when the
    history began (no user, the migration's time), records nothing for those found unlocked,
    and `check` then proves every flag; an unlock after it is recorded as any change."""
    from cli import commands  # noqa: F401
    from cli.main import cli
    from click.testing import CliRunner

    def pledger(*args, user="ann"):
        return CliRunner().invoke(cli, ["--db", fresh_url, "--user", user, *args], catch_exceptions=False, prog_name="pledger")

    engine = make_engine(fresh_url)
    runner.upgrade(engine, "0013")
    with engine.begin() as c:
        c.execute(text("INSERT INTO fiscal_years (id, year, start_date, end_date) VALUES (1, 2026, '2026-01-01', '2026-12-31')"))
        for month in (1, 2, 3):
            c.execute(text("INSERT INTO periods (fiscal_year_id, month, start_date, end_date, locked) VALUES "
                           "(1, :m, :s, :e, :l)"), {"m": month, "s": dt.date(2026, month, 1), "e": dt.date(2026, month, 28),
                                                    "l": month == 2})
    before = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    runner.upgrade(engine, "0014")
    with engine.connect() as c:
        rows = c.execute(text("SELECT period_id, locked, user_name, changed_at, found FROM period_lock_changes")).all()
    assert [(r[0], bool(r[1]), r[2], bool(r[4])) for r in rows] == [(2, True, None, True)]
    at = rows[0][3] if isinstance(rows[0][3], dt.datetime) else dt.datetime.fromisoformat(rows[0][3])
    assert before <= at <= dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    assert pledger("init").exit_code == 0, pledger("init").output  # the defaults a book has
    shown = at.replace(tzinfo=dt.timezone.utc).astimezone().isoformat(timespec="seconds")
    history = pledger("period", "history", "--format", "json")
    assert json.loads(history.stdout) == [{"period": "2026-02", "locked": True, "found": True, "user": None, "at": shown}]
    assert pledger("period", "history").stdout.splitlines()[3].split() == ["2026-02", "found", "locked", shown]
    with engine.begin() as c:
        c.execute(text("UPDATE periods SET locked = :f WHERE month = 2"), {"f": False})
    check_found(pledger("check"), f"period 2026-02: unlocked, and it was found locked when its history began ({shown}) and "
                                  "no unlock is recorded since: its flag was changed around pledger")
    with engine.begin() as c:
        c.execute(text("UPDATE periods SET locked = :t WHERE month = 2"), {"t": True})
    assert pledger("period", "unlock", "2026-02", user="bob").exit_code == 0
    with engine.connect() as c:
        assert c.execute(text("SELECT user_name, locked, found FROM period_lock_changes ORDER BY id")).all()[-1] == ("bob", False, False)
    runner.downgrade(engine, "0013")
    with engine.connect() as c:
        tables = set(c.dialect.get_table_names(c))
        assert "period_lock_changes" not in tables
        assert c.execute(text("SELECT month FROM periods WHERE locked")).scalars().all() == []
    runner.upgrade(engine)
    assert runner.current_revision(engine) == runner.head_revision()
    engine.dispose()
