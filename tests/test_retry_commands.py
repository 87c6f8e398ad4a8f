"""Writing commands that ran in `app.transaction()` alone were not run again when another
writer made the database give up on them (audit of 6 December 2026): a PostgreSQL deadlock
read "database error: deadlock detected; check --db / PLEDGER_DB and that the database is
reachable", and two clerks importing the same stock issue at once read the driver's
"duplicate key value violates unique constraint". `settings set`, `period lock` / `unlock`,
`import ubl` and `import issues` now run through `App.run_in_transaction` as every other
writing command does: run again whole, or given up after a few tries with nothing written."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from cli import app as app_module
from cli.app import RETRY_ATTEMPTS
from ledger.periods import PERIODS_HELD
from purchase.stock import import_issues
from tests.builders import item
from tests.test_ubl_import import SAMPLES, count, shop  # noqa: F401 (the fixture)

GAVE_UP = (f"pledger: other writers kept the database busy: it gave up on this command {RETRY_ATTEMPTS} times "
           f"(deadlock); nothing was written: run it again\n")


@pytest.fixture(autouse=True)
def no_wait(monkeypatch):
    monkeypatch.setattr(app_module, "backoff", lambda attempt: 0.001)


def deadlocked(books, command, *, hold: str, then: str):
    """Run `command` (pledger's arguments) while another transaction holds a row it will
    lock (`hold`), and, once the command waits for it, asks for a lock the command holds
    (`then`): a deadlock, in which PostgreSQL makes the command give up (the other waits
    ten times as long before it looks for one). Returns the command's Click result."""
    result = []
    other = books.engine.connect()
    try:
        other.execute(text("SET deadlock_timeout = '10s'"))
        other.execute(text(hold))
        thread = books.start_waiting(lambda: result.append(books.cli(*command)), " ".join(map(str, command)))
        other.execute(text(then), {"key": PERIODS_HELD})
        other.commit()
    finally:
        other.close()
    thread.join(timeout=60)
    return result[0]


def locked_flag(books, month: int) -> bool:
    return books.raw("SELECT p.locked FROM periods p JOIN fiscal_years f ON f.id = p.fiscal_year_id "
                     "WHERE f.year = 2026 AND p.month = :m", m=month).scalar()


# =========================================================================== run again, and done


@pytest.mark.postgresql_only
@pytest.mark.parametrize("verb, before, after", [("lock", False, True), ("unlock", True, False)])
def test_a_period_lock_the_database_gave_up_on_runs_again(books, verb, before, after):
    if before:
        assert books.cli("period", "lock", "2026-03").exit_code == 0
    result = deadlocked(books, ["period", verb, "2026-03"],
                        hold="UPDATE periods SET locked = locked", then="SELECT pg_advisory_xact_lock_shared(:key)")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"period 2026-03 {verb}ed\n"
    assert locked_flag(books, 3) is after


@pytest.mark.postgresql_only
def test_a_setting_the_database_gave_up_on_runs_again(books):
    result = deadlocked(books, ["settings", "set", "rounding", "604500"],
                        hold="UPDATE purchase_settings SET account_id = account_id",
                        then="SELECT pg_advisory_xact_lock_shared(:key)")
    assert result.exit_code == 0, result.output
    assert result.stdout == "rounding = 604500\n"
    assert books.raw("SELECT a.code FROM purchase_settings s JOIN accounts a ON a.id = s.account_id "
                     "WHERE s.key = 'rounding'").scalar() == "604500"


@pytest.mark.postgresql_only
def test_a_ubl_import_the_database_gave_up_on_runs_again(shop):  # noqa: F811
    """The import holds the invoice's order lines and waits for the journal's counter, which
    another writer holds and then asks for those order lines."""
    result = deadlocked(shop, ["import", "ubl", SAMPLES / "invoice-simple.xml"],
                        hold="SELECT * FROM journal_counters FOR UPDATE", then="SELECT * FROM order_lines FOR UPDATE")
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("imported 1 invoice and 0 credit notes with 2 lines in 1 entry\n")
    assert (count(shop, "invoices"), count(shop, "imports")) == (1, 1)


@pytest.mark.postgresql_only
def test_the_same_issue_imported_by_two_clerks_at_once_is_refused_as_already_imported(books, tmp_path):
    """The second clerk's import found the issue number free (the first's not committed
    yet), then met it on the unique key: "the database refused the change: duplicate key
    value violates unique constraint "uq_stock_issues_number"". It now runs again and says
    what was wrong."""
    with books.session() as s:
        item(s)
    issues = tmp_path / "issues.csv"
    issues.write_text("issue,date,item,quantity\nI-1,2026-05-05,BOLT,2\n", encoding="utf-8")
    result = []
    with books.session() as first:
        import_issues(first, issues, "bob")  # imported, not committed
        thread = books.start_waiting(lambda: result.append(books.cli("import", "issues", issues)), "the second import")
    thread.join(timeout=60)
    assert result[0].exit_code == 1
    assert result[0].stderr == (f"pledger: {issues}: row 2, column issue: issue I-1 was already imported: "
                                f"an issue is imported once\n")
    assert books.raw("SELECT count(*), min(user_name) FROM stock_issues").one() == (1, "bob")


# =========================================================================== given up: nothing written


def deadlock() -> OperationalError:
    return OperationalError("UPDATE", {}, psycopg.errors.DeadlockDetected("deadlock detected"))


def always_deadlocked(monkeypatch, module, name):
    """`module.name` does its work, then the database gives up on the transaction, every time."""
    real = getattr(module, name)
    tries = []

    def work(*args, **kwargs):
        tries.append(1)
        real(*args, **kwargs)
        raise deadlock()

    monkeypatch.setattr(module, name, work)
    return tries


def given_up(books, tries, *command):
    result = books.cli(*command)
    assert result.exit_code == 1
    assert (result.stdout, result.stderr) == ("", GAVE_UP)
    assert len(tries) == RETRY_ATTEMPTS


def test_a_period_lock_given_up_says_nothing_was_written_and_wrote_nothing(books, monkeypatch):
    from ledger import periods

    given_up(books, always_deadlocked(monkeypatch, periods, "set_locked"), "period", "lock", "2026-03")
    assert not locked_flag(books, 3)
    assert books.raw("SELECT count(*) FROM period_lock_changes").scalar() == 0  # nor its history


def test_a_setting_given_up_says_nothing_was_written_and_wrote_nothing(books, monkeypatch):
    import cli.commands.books as commands

    given_up(books, always_deadlocked(monkeypatch, commands, "set_setting"), "settings", "set", "rounding", "604500")
    assert books.raw("SELECT a.code FROM purchase_settings s JOIN accounts a ON a.id = s.account_id "
                     "WHERE s.key = 'rounding'").scalar() != "604500"


def test_an_issue_import_given_up_says_nothing_was_written_and_wrote_nothing(books, monkeypatch, tmp_path):
    import cli.commands.supplier_docs as commands

    with books.session() as s:
        item(s)
    issues = tmp_path / "issues.csv"
    issues.write_text("issue,date,item,quantity\nI-1,2026-05-05,BOLT,2\n", encoding="utf-8")
    given_up(books, always_deadlocked(monkeypatch, commands, "import_issues"), "import", "issues", issues)
    assert books.raw("SELECT (SELECT count(*) FROM stock_issues), (SELECT count(*) FROM imports)").one() == (0, 0)


@pytest.mark.parametrize("trial", [False, True])
def test_a_ubl_import_given_up_says_nothing_was_written_and_wrote_nothing(shop, monkeypatch, trial):  # noqa: F811
    import cli.commands.supplier_docs as commands

    tries = always_deadlocked(monkeypatch, commands, "import_ubl")
    given_up(shop, tries, "import", "ubl", SAMPLES / "invoice-simple.xml", *(["--trial"] if trial else []))
    assert [count(shop, t) for t in ("invoices", "entries", "imports")] == [0, 0, 0]


def test_a_period_lock_on_sqlite_held_up_past_the_busy_timeout_waits_again(templates, monkeypatch):
    """Another writer held the SQLite database longer than the busy timeout (a long import):
    `period lock` failed at once with "database error: database is locked; check --db /
    PLEDGER_DB and that the database is reachable". It now waits again, and locks. The other
    writer ends while the command waits before its second try (not on a timer, 0.5 s on,
    which a command slow to start on a loaded host met only once the writer had ended, and
    one slow to be woken after all five tries)."""
    import sqlite3

    import ledger.db
    from tests.conftest import Books

    books = Books(url=templates.sqlite(), dialect="sqlite")
    holder = sqlite3.connect(books.url.removeprefix("sqlite:///"), isolation_level=None, timeout=5, check_same_thread=False)
    waited: list[int] = []

    def backoff(attempt: int) -> float:
        waited.append(attempt)
        if holder.in_transaction:
            holder.execute("COMMIT")
        return 0.2

    monkeypatch.setattr(ledger.db, "BUSY_TIMEOUT_MS", 100)
    monkeypatch.setattr(app_module, "backoff", backoff)
    holder.execute("BEGIN IMMEDIATE")
    try:
        result = books.cli("period", "lock", "2026-03")
    finally:
        holder.close()
    assert waited == [1], "the command did not wait again once the busy timeout was over"
    assert result.exit_code == 0, result.output
    assert result.stdout == "period 2026-03 locked\n"
    assert locked_flag(books, 3)
    books.engine.dispose()
