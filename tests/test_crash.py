"""kill -9 in the middle of a close-out of many lines: afterwards it is all there or not at all.

A book of many open lines (built fast through the services, one transaction) is copied
once per kill; on each copy `pledger closeout run --close-fully` is started and killed
with SIGKILL at a random moment. After each kill: either the close-out is entirely there
(its row, one closeout line per line it lowered, every line lowered, one entry per
order) or entirely absent (no close-out, no close-out line or entry, no line lowered, no
number taken), entry numbers are gapless and `check` passes; and (once per run) the book
still works: the close-out run again to its end takes number 1.

Short form: 5,000 lines, 3 kills per database. `-m long`: 100,000 lines and 20 kills
(PLEDGER_CRASH_LINES / PLEDGER_CRASH_KILLS), and on PostgreSQL also sessions ended by
the server (pg_terminate_backend, PLEDGER_CRASH_TERMINATIONS, default 3; the short form
has one of them) and the server itself stopped with `pg_ctlcluster ... stop -m immediate`
at a random moment of the close-out and restarted (PLEDGER_CRASH_SERVER_STOPS, default 3;
this stops every client of the cluster: run it alone, in one test process, as
`PLEDGER_TEST_PROCESSES=1 scripts/test -m long`; in several it fails saying so); the server is started again
whatever happens. The client must then fail with one `pledger: ` line.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from ledger.db import make_engine, make_sessionmaker
from ledger.models import Entry, Journal
from matching.models import Closeout, CloseoutCounter, CloseoutEntry, CloseoutLine
from migrations import runner
from matching.checks import check_books
from purchase.documents import DocLine, DocumentPoster, InvoiceDoc, ReceiptDoc
from purchase.masterdata import ItemData, OrderData, OrderLineData, SupplierData, create_orders, upsert_items, upsert_suppliers
from purchase.models import OrderLine
from purchase.settings import install_defaults
from ledger.periods import open_year

PLEDGER = str(Path(sys.executable).with_name("pledger"))
LINES_PER_ORDER = 10
PG_VERSION = "15"


def build_book(url: str, lines: int) -> None:
    """Orders of ten lines; half the lines partly received, a third partly invoiced: all open."""
    engine = make_engine(url)
    runner.upgrade(engine)
    with make_sessionmaker(engine)() as s:
        install_defaults(s, "EUR", dt.date(2026, 6, 1))
        open_year(s, 2026)
        upsert_suppliers(s, [SupplierData("ACME", "Acme NV", "EUR"), SupplierData("BETA", "Beta BV", "EUR")])
        upsert_items(s, [ItemData("BOLT", "Bolt M8", True), ItemData("SERV", "Service", False)])
        orders = lines // LINES_PER_ORDER
        create_orders(s, [
            OrderData(f"PO-{o:06d}", "ACME" if o % 2 else "BETA", dt.date(2026, 3, 1), [
                OrderLineData(n + 1, "SERV" if n % 3 == 0 else "BOLT", Decimal(10), Decimal("3.37") + n, vat_rate=Decimal(21))
                for n in range(LINES_PER_ORDER)])
            for o in range(orders)
        ])
        poster = DocumentPoster(s, "builder")
        poster.post_receipts([ReceiptDoc(f"R{o}", dt.date(2026, 4, 1), [DocLine(f"PO-{o:06d}", n + 1, Decimal(4)) for n in range(0, LINES_PER_ORDER, 2)])
                              for o in range(orders)])
        poster.post_invoices([InvoiceDoc(f"I{o}", f"S{o}", dt.date(2026, 4, 2), [DocLine(f"PO-{o:06d}", n + 1, Decimal(3)) for n in range(0, LINES_PER_ORDER, 3)])
                              for o in range(orders)])
        s.commit()
    engine.dispose()


class Copies:
    """One built book and fresh copies of it (a file copy; CREATE DATABASE ... TEMPLATE)."""

    def __init__(self, templates, db_kind: str, tmp_path: Path, lines: int):
        self.kind = db_kind
        self.tmp = tmp_path
        if db_kind == "sqlite":
            self.source = tmp_path / "book.db"
            build_book(f"sqlite:///{self.source}", lines)
            engine = create_engine(f"sqlite:///{self.source}")
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            engine.dispose()
        else:
            templates.postgresql()  # skips (or fails under CI) without a server
            self.admin_url = templates.pg_admin
            self.templates = templates
            self.source = f"pledger_crash_{os.getpid()}_{uuid.uuid4().hex[:6]}"
            self._admin(f'CREATE DATABASE "{self.source}"')
            templates.created_pg.append(self.source)
            build_book(self._url(self.source), lines)

    def _url(self, name: str) -> str:
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def _admin(self, sql: str) -> None:
        admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(sql))
        finally:
            admin.dispose()

    def copy(self) -> str:
        if self.kind == "sqlite":
            target = self.tmp / f"copy-{uuid.uuid4().hex[:8]}.db"
            shutil.copy(self.source, target)
            return f"sqlite:///{target}"
        name = f"pledger_crashc_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.source}"')
        self.templates.created_pg.append(name)
        return self._url(name)

    def drop(self, url: str) -> None:
        if self.kind == "sqlite":
            path = Path(make_url(url).database)
            for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                p.unlink(missing_ok=True)
        else:
            self._admin(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')

    def terminate_backends(self, url: str) -> None:
        self._admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{make_url(url).database}'")

    def wait_quiet(self, url: str, timeout: float = 120) -> None:
        """PostgreSQL: until the killed client's backend has noticed and rolled back (or committed)."""
        if self.kind != "postgresql":
            return
        name = make_url(url).database
        deadline = time.monotonic() + timeout
        while True:
            try:
                admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    busy = conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = :d AND pid <> pg_backend_pid()"),
                                        {"d": name}).scalar()
                admin.dispose()
                if not busy:
                    return
            except Exception:
                if time.monotonic() > deadline:
                    raise
            assert time.monotonic() < deadline, f"the backend of the killed close-out on {name} never went away"
            time.sleep(0.2)


def closeout_command(url: str) -> list[str]:
    return [PLEDGER, "--db", url, "--user", "crash", "closeout", "run", "--close-fully", "--date", "2026-06-30", "--format", "json"]


def state_of(url: str, lines: int) -> str:
    """'present' or 'absent', after asserting it is exactly one of them and the books check out."""
    orders = lines // LINES_PER_ORDER
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as s:
            closeouts = s.scalars(select(Closeout)).all()
            closeout_lines = s.scalar(select(func.count()).select_from(CloseoutLine))
            closeout_entries = s.scalar(select(func.count()).select_from(CloseoutEntry))
            lowered = s.scalar(select(func.count()).select_from(OrderLine).where(
                (OrderLine.lowered_receive != 0) | (OrderLine.lowered_invoice != 0)))
            memorial = s.scalar(select(func.count()).select_from(Entry).join(Journal).where(Journal.code == "MEM"))
            counter = s.scalar(select(CloseoutCounter.last_number))
            breaches = check_books(s)
            assert breaches == [], breaches[:5]
            if not closeouts:
                assert (closeout_lines, closeout_entries, lowered, memorial, counter or 0) == (0, 0, 0, 0, 0), \
                    "a killed close-out left part of itself behind"
                return "absent"
            assert len(closeouts) == 1 and closeouts[0].number == 1 and counter == 1
            assert closeout_lines == lowered == lines, f"{closeout_lines} close-out lines, {lowered} lines lowered, {lines} expected"
            assert closeout_entries == memorial == orders, f"{closeout_entries} close-out entries, {memorial} memorial entries"
            return "present"
    finally:
        engine.dispose()


def finish_and_check(url: str, lines: int, was: str) -> None:
    """The book still works: the close-out run to its end takes number 1 (or finds nothing left)."""
    done = subprocess.run(closeout_command(url), capture_output=True, text=True, timeout=3600)
    assert done.returncode == 0, done.stderr
    assert state_of(url, lines) == "present"
    import json

    number = json.loads(done.stdout)["closeout"]
    assert number == (1 if was == "absent" else None)


def pg_ctl(action: str) -> None:
    """Stop the server at once, or start it. A start is not judged by pg_ctlcluster's exit
    status: after an immediate stop whose WAL holds a dropped database, the server recovers
    and accepts connections, yet pg_ctlcluster says it "failed to start" (exit 1; seen
    5 December 2026, by hand too). `pg_ready` judges it."""
    args = ["pg_ctlcluster", "--skip-systemctl-redirect", PG_VERSION, "main", action]
    if action == "stop":
        args += ["-m", "immediate"]
    subprocess.run(args, check=action == "stop", capture_output=True, timeout=120)


def pg_ready(admin_url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            engine = create_engine(admin_url)
            with engine.connect() as conn:
                conn.execute(text("select 1"))
            engine.dispose()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def run_kills(templates, db_kind, tmp_path, lines: int, kills: int, terminations: int = 0, server_stops: int = 0, seed: int = 5):
    rng = random.Random(seed)
    t0 = time.monotonic()
    copies = Copies(templates, db_kind, tmp_path, lines)
    built = time.monotonic() - t0
    # one uncut run: how long a close-out takes, and the "present" state it leaves
    url = copies.copy()
    started = time.monotonic()
    full = subprocess.run(closeout_command(url), capture_output=True, text=True, timeout=3600)
    duration = time.monotonic() - started
    assert full.returncode == 0, full.stderr
    assert state_of(url, lines) == "present"
    copies.drop(url)
    outcomes = {"present": 0, "absent": 0}
    finished = False
    moments = []
    plan = ["kill"] * kills + ["terminate"] * terminations + ["server"] * server_stops
    rng.shuffle(plan)
    for what in plan:
        url = copies.copy()
        moment = rng.uniform(0.3, 1.05) * duration  # the first ~third is the interpreter starting
        moments.append(round(moment, 2))
        proc = subprocess.Popen(closeout_command(url), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(moment)
        if what == "kill":
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
        elif what == "terminate":  # the server ends the session (as on a failover or an admin's kill)
            copies.terminate_backends(url)
            proc.wait(timeout=600)
            err = proc.stderr.read()
            assert proc.returncode in (0, 1), err
            if proc.returncode == 1:
                assert err.startswith("pledger: ") and err.count("\n") == 1, f"not one 'pledger: ' line: {err!r}"
        else:
            try:
                pg_ctl("stop")
            finally:
                pg_ctl("start")
                pg_ready(copies.admin_url)
            proc.wait(timeout=600)
            if proc.returncode != 0:
                err = proc.stderr.read()
                assert err.startswith("pledger: ") and err.count("\n") == 1, f"not one 'pledger: ' line: {err!r}"
        copies.wait_quiet(url)
        was = state_of(url, lines)
        outcomes[was] += 1
        print(f"{db_kind}: {what} at {moment:.2f}s of {duration:.1f}s: close-out {was}", flush=True)
        if was == "absent" and not finished:  # once per run: the book still works, number 1 is free
            finish_and_check(url, lines, was)
            finished = True
        copies.drop(url)
    print(f"\n{db_kind}: {lines} lines built in {built:.1f}s; uncut close-out {duration:.1f}s; "
          f"{kills} kills + {terminations} sessions ended by the server + {server_stops} server stops at {moments}s: {outcomes}")
    return outcomes


def test_kill_9_during_a_closeout_short(templates, db_kind, tmp_path):
    if db_kind == "postgresql":  # one of the three: the server ends the session instead
        run_kills(templates, db_kind, tmp_path, lines=5000, kills=2, terminations=1)
    else:
        run_kills(templates, db_kind, tmp_path, lines=5000, kills=3)


@pytest.mark.long
def test_kill_9_during_a_closeout_long(templates, db_kind, tmp_path):
    lines = int(os.environ.get("PLEDGER_CRASH_LINES", 100_000))
    kills = int(os.environ.get("PLEDGER_CRASH_KILLS", 20))
    stops = int(os.environ.get("PLEDGER_CRASH_SERVER_STOPS", 3)) if db_kind == "postgresql" else 0
    ends = int(os.environ.get("PLEDGER_CRASH_TERMINATIONS", 3)) if db_kind == "postgresql" else 0
    others = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", 1)) - 1
    if stops and others:
        pytest.fail(f"stopping the PostgreSQL server would break the tests of the {others} other test process(es): "
                    f"run the long variants in one process (PLEDGER_TEST_PROCESSES=1 scripts/test -m long)")
    try:
        run_kills(templates, db_kind, tmp_path, lines=lines, kills=kills, terminations=ends, server_stops=stops)
    finally:
        if stops:
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", PG_VERSION, "main", "start"], capture_output=True)
