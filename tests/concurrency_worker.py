"""One process of tests/test_concurrency_many.py: runs pledger commands against a shared book.

    python -m tests.concurrency_worker ROLE URL COUNT SEED START_AT OUT.json WORKDIR

ROLE is `closer` (close-outs with --edits lowering small amounts on random open lines of
overlapping selections, now and then --close-fully on one order), `receiver` / `invoicer`
(CSV imports of small receipts / invoices on random lines), or `undoer` (undo of a
standing close-out). Each command is the real `pledger` command line (Click, the App,
its transaction and retries), run in this process through Click's test runner so that a
process does not pay the interpreter's start-up per command; several such processes run
at once. Every command's exit status, stdout and stderr go to OUT.json.
"""

from __future__ import annotations

import json
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import create_engine, text

from cli import app as cli_app
from cli import commands  # noqa: F401  (registers the commands)
from cli.main import cli

RANGES = ["PO-01..PO-15", "PO-08..PO-22", "PO-15..PO-30", "PO-01..PO-30", "PO-05..PO-12"]
STEPS = [Decimal("0.25"), Decimal("0.5"), Decimal("1")]
SCALE = Decimal(10) ** 6  # quantities are stored as integers x 10^6


def q(value) -> str:
    text_ = f"{Decimal(value).normalize():f}"
    return text_


class Worker:
    def __init__(self, role: str, url: str, seed: int, workdir: Path):
        self.role = role
        self.url = url
        self.rng = random.Random(seed)
        self.workdir = workdir
        self.runner = CliRunner()
        self.results: list[dict] = []
        self.engine = create_engine(url) if not url.startswith("sqlite") else create_engine(url, connect_args={"timeout": 60})
        self.n = 0
        self.retried: list[str] = []
        backoff = cli_app.backoff

        def counting_backoff(attempt: int) -> float:  # the App calls it once per transaction run again
            self.retried.append(repr(sys.exc_info()[1])[:300])
            return backoff(attempt)

        cli_app.backoff = counting_backoff

    def pledger(self, *args: str) -> dict:
        started = time.monotonic()
        self.retried = []
        result = self.runner.invoke(cli, ["--db", self.url, "--user", f"{self.role}", *args], catch_exceptions=True)
        record = {
            "role": self.role, "args": list(args), "rc": result.exit_code, "stdout": result.stdout, "stderr": result.stderr,
            "exception": None if result.exception is None or isinstance(result.exception, SystemExit) else repr(result.exception),
            "retried": self.retried,
            "seconds": round(time.monotonic() - started, 3),
        }
        self.results.append(record)
        return record

    def open_lines(self, low: str, high: str) -> list[dict]:
        """Open lines of orders low..high as they are now (read without locks: it may be stale)."""
        with self.engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT po.number, ol.line_no, ol.quantity, ol.received, ol.invoiced, ol.lowered_receive, ol.lowered_invoice "
                "FROM order_lines ol JOIN purchase_orders po ON po.id = ol.order_id "
                "WHERE po.number >= :low AND po.number <= :high ORDER BY po.number, ol.line_no"), {"low": low, "high": high}).all()
        out = []
        for number, line, qty, rec, inv, lr, li in rows:
            qty, rec, inv, lr, li = (Decimal(v) / SCALE for v in (qty, rec, inv, lr, li))
            to_receive, to_invoice = qty - rec - lr, qty - inv - li
            if to_receive > 0 or to_invoice > 0:
                out.append({"order": number, "line": line, "to_receive": to_receive, "to_invoice": to_invoice})
        return out

    def file(self, name: str, rows: list[list]) -> str:
        path = self.workdir / name
        path.write_text("\n".join(",".join(str(c) for c in r) for r in rows) + "\n", encoding="utf-8")
        return str(path)

    # -- roles ----------------------------------------------------------------------------

    def closer(self) -> None:
        selection = self.rng.choice(RANGES)
        low, high = selection.split("..")
        if self.rng.random() < 0.15:
            order = f"PO-{self.rng.randint(int(low[3:]), int(high[3:])):02d}"
            self.pledger("closeout", "run", "--order", order, "--close-fully", "--date", "2026-06-30", "--format", "json")
            return
        candidates = self.open_lines(low, high)
        if not candidates:
            return
        picked = self.rng.sample(candidates, min(len(candidates), self.rng.randint(1, 4)))
        rows = [["order", "line", "to_receive", "to_invoice"]]
        for p in picked:
            step = self.rng.choice(STEPS)
            to_receive = max(Decimal(0), p["to_receive"] - step)
            to_invoice = "" if self.rng.random() < 0.5 else q(max(Decimal(0), p["to_invoice"] - step))
            rows.append([p["order"], p["line"], q(to_receive), to_invoice])
        self.n += 1
        path = self.file(f"edits-{self.role}-{self.n}.csv", rows)
        self.pledger("closeout", "run", "--order", selection, "--edits", path, "--date", "2026-06-30", "--format", "json")

    def _document(self, kind: str) -> None:
        candidates = [c for c in self.open_lines("PO-01", "PO-30") if c["to_receive" if kind == "receipts" else "to_invoice"] >= 1]
        if not candidates:
            return
        parity = self.rng.randint(0, 1)  # odd orders are ACME's, even ones BETA's: one supplier per invoice
        candidates = [c for c in candidates if int(c["order"][3:]) % 2 == parity] or candidates[:1]
        picked = self.rng.sample(candidates, min(len(candidates), self.rng.randint(1, 3)))
        self.n += 1
        number = f"{self.role[0].upper()}{self.role}-{self.n}-{self.rng.randrange(10**9)}"
        if kind == "receipts":
            rows = [["receipt", "date", "order", "line", "quantity"]]
            rows += [[number, "2026-06-15", p["order"], p["line"], "0.25"] for p in picked]
        else:
            rows = [["invoice", "supplier_invoice", "date", "order", "line", "quantity", "unit_price", "vat_rate"]]
            rows += [[number, f"S-{number}", "2026-06-15", p["order"], p["line"], "0.25", "3.31", "21"] for p in picked]
        self.pledger("import", kind, self.file(f"{kind}-{self.n}.csv", rows))

    def receiver(self) -> None:
        self._document("receipts")

    def invoicer(self) -> None:
        self._document("invoices")

    def undoer(self) -> None:
        listed = self.pledger("closeout", "list", "--format", "json")
        if listed["rc"] != 0:
            return
        standing = [c["closeout"] for c in json.loads(listed["stdout"]) if c["undone_by"] is None]
        if not standing:
            return
        number = max(standing) if self.rng.random() < 0.7 else self.rng.choice(standing)
        self.pledger("closeout", "undo", "--number", str(number), "--date", "2026-07-01", "--format", "json")

    def run(self, count: int, start_at: float) -> None:
        time.sleep(max(0.0, start_at - time.time()))
        for _ in range(count):
            getattr(self, self.role)()
            time.sleep(self.rng.uniform(0, 0.05))
        self.engine.dispose()


def main(argv: list[str]) -> int:
    role, url, count, seed, start_at, out, workdir = argv
    worker = Worker(role, url, int(seed), Path(workdir))
    try:
        worker.run(int(count), float(start_at))
    finally:
        Path(out).write_text(json.dumps(worker.results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
