"""Two (and more) real processes closing out overlapping lines at once never close a
quantity twice: SQLite queues them on BEGIN IMMEDIATE, PostgreSQL on row locks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from matching.checks import check_books
from tests.builders import D, invoice, item, order, receive, supplier

PLEDGER = str(Path(sys.executable).with_name("pledger"))


def test_overlapping_closeouts_in_parallel_processes(books, tmp_path):
    with books.session() as s:
        supplier(s)
        item(s)
        for n in range(1, 41):
            order(s, f"PO-{n:02d}", ("BOLT", 10, "3.33"), ("BOLT", 7, "1.01"))
            receive(s, f"PO-{n:02d}", 1, 4)
            invoice(s, f"PO-{n:02d}", 2, 3)
    ranges = ["PO-01..PO-25", "PO-10..PO-35", "PO-20..PO-40", "PO-05..PO-30"]
    env = {**os.environ, "PLEDGER_DB": books.url, "PLEDGER_USER": "proc"}
    procs = [
        subprocess.Popen([PLEDGER, "closeout", "run", "--order", r, "--close-fully", "--date", "2026-06-30", "--format", "json"],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for r in ranges
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0, err
        assert "locked" not in err and "Traceback" not in err
    numbers = [r[0] for r in books.raw("select number from closeouts order by number")]
    assert numbers == list(range(1, len(numbers) + 1))
    # no quantity closed twice: per line, what its close-outs lowered is what the line says was lowered
    rows = books.raw(
        "select ol.id, ol.lowered_receive, ol.lowered_invoice, "
        "coalesce(sum(cl.to_receive_before - cl.to_receive_after), 0), coalesce(sum(cl.to_invoice_before - cl.to_invoice_after), 0), count(cl.id) "
        "from order_lines ol left join closeout_lines cl on cl.order_line_id = ol.id group by ol.id, ol.lowered_receive, ol.lowered_invoice"
    ).all()
    assert len(rows) == 80
    for line_id, lr, li, sum_r, sum_i, closed in rows:
        assert (lr, li) == (sum_r, sum_i), line_id
        assert closed == 1, f"line {line_id} closed {closed} times"
    with books.session() as s:
        assert check_books(s) == []


def test_a_raise_and_receipts_at_once_never_receive_beyond_the_line(books):
    """An over-delivery raised while its receipts post: a receipt either finds the line as
    it was (and is refused beyond it) or as raised, never half of each. Line 1 expects 4
    more; three receipts of 2 and a raise to 16 run in four processes at once."""
    with books.session() as s:
        supplier(s)
        item(s)
        order(s, "PO-1", ("BOLT", 10, "3.33"), ("BOLT", 5, "1.01"))
        receive(s, "PO-1", 1, 6)
    env = {**os.environ, "PLEDGER_DB": books.url, "PLEDGER_USER": "proc"}
    commands = [["po", "raise", "PO-1", "--line", "1=16", "--reason", "more came"]] + [
        ["po", "receive", "PO-1", "--receipt", f"R-{n}", "--line", "1=2", "--line", "2=0", "--date", "2026-06-30"]
        for n in range(1, 4)]
    procs = [subprocess.Popen([PLEDGER, *c], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for c in commands]
    outputs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outputs):
        assert "Traceback" not in err and "deadlock" not in err, err
        assert p.returncode == 0 or "over-receipt refused" in err, err
    assert procs[0].returncode == 0, outputs[0][1]
    accepted = sum(p.returncode == 0 for p in procs[1:])
    (quantity, received), = books.raw("select quantity, received from order_lines where line_no = 1").all()
    assert quantity == 16_000_000  # stored with 6 decimals
    assert received == (6 + 2 * accepted) * 1_000_000 and received <= quantity
    assert {r[0] for r in books.raw("select number from receipts where number like 'R-%'")} == {
        f"R-{n}" for n, p in enumerate(procs[1:], 1) if p.returncode == 0}  # a refused receipt left nothing
    with books.session() as s:
        assert check_books(s) == []


@pytest.mark.postgresql_only
def test_a_suspended_writer_holds_the_others_up_only_until_the_server_ends_its_transaction(books, monkeypatch):
    """A pledger stopped inside its transaction (Ctrl-Z, its machine asleep or cut off) held
    its order lines' row locks for ever, and a clerk's receipt on them waited for ever. The
    server now ends a transaction of pledger's that stands idle for IDLE_IN_TRANSACTION_MS
    (60 s; 1 s here): the receipt then posts, and the stopped one wrote nothing."""
    import ledger.db
    from ledger.db import make_engine

    with books.session() as s:
        supplier(s)
        item(s)
        order(s, "PO-1", ("BOLT", 10, "3.33"))
    monkeypatch.setattr(ledger.db, "IDLE_IN_TRANSACTION_MS", 1000)
    stopped = make_engine(books.url)  # a pledger's connection, as a close-out has it when it is stopped
    conn = stopped.connect()
    conn.begin()
    conn.execute(text("SELECT id FROM order_lines FOR UPDATE"))
    conn.execute(text("UPDATE order_lines SET lowered_receive = quantity"))  # as a close-out had lowered it
    try:
        env = {**os.environ, "PLEDGER_DB": books.url, "PLEDGER_USER": "clerk"}
        clerk = subprocess.Popen([PLEDGER, "po", "receive", "PO-1", "--receipt", "R-1", "--date", "2026-06-30"],
                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            out, err = clerk.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            clerk.kill()
            clerk.communicate()
            raise AssertionError("the receipt waited for the stopped transaction's locks for a minute") from None
        assert clerk.returncode == 0, err
        with pytest.raises(DBAPIError) as ended:
            conn.execute(text("SELECT 1"))
        assert ended.value.orig.sqlstate == "25P03"  # idle_in_transaction_session_timeout
    finally:
        conn.invalidate()
        stopped.dispose()
    assert books.raw("select received, lowered_receive from order_lines").all() == [(10_000_000, 0)]
    with books.session() as s:
        assert check_books(s) == []


@pytest.mark.postgresql_only
def test_an_idle_in_transaction_timeout_the_administrator_set_is_kept(books):
    from ledger.db import make_engine

    def timeout_seen() -> str:
        engine = make_engine(books.url)
        try:
            with engine.connect() as conn:
                return conn.execute(text("SHOW idle_in_transaction_session_timeout")).scalar()
        finally:
            engine.dispose()

    assert timeout_seen() == "1min"  # pledger's own, where the server has none
    database = books.raw("SELECT current_database()").scalar()
    books.raw(f'ALTER DATABASE "{database}" SET idle_in_transaction_session_timeout = \'10min\'')
    assert timeout_seen() == "10min"


def test_the_client_says_in_one_line_that_the_server_ended_its_idle_transaction():
    """What a stopped pledger says when it goes on after the server ended its transaction."""
    from cli.main import _ended_idle

    class App:
        committed = 0

    said = _ended_idle(App())
    assert "stood idle for 60 s" in said and "nothing was written to the books" in said and "\n" not in said


@pytest.mark.postgresql_only
def test_a_command_whose_connection_the_server_ends_says_so_and_that_nothing_was_written(books):
    """An administrator's pg_terminate_backend (or a failover) while a clerk's receipt waits
    for a lock: the clerk read 'check --db / PLEDGER_DB and that the database is reachable',
    about a database that was reachable all along."""
    import time

    from ledger.db import make_engine

    with books.session() as s:
        supplier(s)
        item(s)
        order(s, "PO-1", ("BOLT", 10, "3.33"))
    holder = make_engine(books.url)
    conn = holder.connect()
    conn.begin()
    conn.execute(text("SELECT id FROM order_lines FOR UPDATE"))
    try:
        env = {**os.environ, "PLEDGER_DB": books.url, "PLEDGER_USER": "clerk"}
        clerk = subprocess.Popen([PLEDGER, "po", "receive", "PO-1", "--receipt", "R-1", "--date", "2026-06-30"],
                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        waiting = []
        with holder.connect().execution_options(isolation_level="AUTOCOMMIT") as admin:  # a fresh view each read
            for _ in range(600):  # until the clerk's receipt waits for the held lock
                waiting = admin.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                             "AND wait_event_type = 'Lock'")).scalars().all()
                if waiting or clerk.poll() is not None:
                    break
                time.sleep(0.05)
            assert waiting, clerk.communicate()
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": waiting[0]})
        out, err = clerk.communicate(timeout=60)
    finally:
        conn.rollback()
        conn.close()
        holder.dispose()
    assert clerk.returncode == 1
    assert err == ("pledger: the database server ended this command's connection (terminating connection due to "
                   "administrator command): nothing was written to the books; run it again\n")
    assert books.raw("select count(*) from receipts").scalar() == 0


def test_a_connection_lost_during_the_commit_says_the_books_must_tell(books, monkeypatch):
    """Ended during its COMMIT, a transaction may or may not be in the books (the crash test
    found such sessions committed): pledger cannot say 'nothing was written', and says where
    to look."""
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    with books.session() as s:
        supplier(s)
        item(s)
        order(s, "PO-1", ("BOLT", 10, "3.33"))

    def commit_lost(self):
        raise OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"),
                               connection_invalidated=True)

    monkeypatch.setattr(Session, "commit", commit_lost)
    result = books.cli("po", "receive", "PO-1", "--receipt", "R-1", "--date", "2026-06-30")
    assert result.exit_code == 1
    assert result.stderr == ("pledger: the database server ended this command's connection (server closed the connection "
                             "unexpectedly) while it committed: whether that transaction was written cannot be told from "
                             "here; look in the books before running it again (see 'pledger po show PO-1')\n")


def test_check_and_report_grir_read_one_state_of_the_books_while_a_receipt_commits(books, monkeypatch):
    """A controller's `check` and `report grir` while a clerk posts: a receipt committed while
    they read (here: as the first order line is weighed) is in neither or in all of what they
    read. On PostgreSQL each statement had its own snapshot: the lines were read without the
    receipt and the accounts' totals with it, so `check` failed ("goods-received account
    444000 holds 13.32 (credit), the lines hold 9.99") and `report grir` said the books did
    not tie out, on sound books (seen on a shared book: 2 checks of 12, 12 reports of 12)."""
    import json

    import purchase.checks
    import purchase.views

    with books.session() as s:
        supplier(s)
        item(s)
        order(s, "PO-1", ("BOLT", 10, "3.33"))
        order(s, "PO-2", ("BOLT", 10, "3.33"))
        receive(s, "PO-1", 1, 3)
    posted = []

    def meanwhile(module):
        weigh = module.line_state

        def line_state(*args, **kwargs):
            if len(posted) < 2 and module.__name__ not in posted:
                posted.append(module.__name__)
                with books.session() as s:  # the clerk's receipt, committed while the reader reads
                    receive(s, "PO-2", 1, 1)
            return weigh(*args, **kwargs)

        monkeypatch.setattr(module, "line_state", line_state)

    meanwhile(purchase.checks)
    meanwhile(purchase.views)
    checked = books.cli("check")
    assert checked.exit_code == 0, checked.output
    grir = books.cli("report", "grir", "--format", "json")
    assert grir.exit_code == 0, grir.output
    assert json.loads(grir.stdout)["ties"] is True
    assert posted == ["purchase.checks", "purchase.views"]  # both receipts committed while they read
    assert books.cli("check").exit_code == 0


def test_closeout_propose_reads_one_state_and_locks_nothing_while_a_receipt_commits(books, tmp_path, monkeypatch):
    """`closeout propose` reads in a read-only command's one snapshot (REPEATABLE READ on
    PostgreSQL). It read the lines with the writers' FOR UPDATE: a line a clerk's receipt
    changed after the snapshot was taken then failed the proposal ("could not serialize
    access due to concurrent update") where it had waited. It now reads without locking:
    the proposal is the books as of its snapshot, and no writer waits for it."""
    import purchase.lines

    with books.session() as s:
        supplier(s)
        item(s)
        order(s, "PO-1", ("BOLT", 10, "3.33"))
        receive(s, "PO-1", 1, 3)
    load_ids = purchase.lines.LineBook.load_ids
    posted = []

    def after_the_snapshot(self, ids):
        if not posted:
            posted.append(1)
            with books.session() as s:  # the clerk's receipt, committed after the proposal's first read
                receive(s, "PO-1", 1, 2)
        return load_ids(self, ids)

    monkeypatch.setattr(purchase.lines.LineBook, "load_ids", after_the_snapshot)
    sheet = tmp_path / "proposal.csv"
    proposed = books.cli("closeout", "propose", "-o", str(sheet))
    assert proposed.exit_code == 0, proposed.output
    assert posted == [1]
    assert sheet.read_text(encoding="utf-8").splitlines()[1].split(",")[-4:] == ["3", "0", "7", "10"]  # as of its snapshot
    shown = books.cli("po", "show", "PO-1", "--format", "json")
    assert '"received": "5"' in shown.stdout  # the receipt went in, not held up
