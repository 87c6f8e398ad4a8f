"""Model-based test: random books driven through receipts, invoices, returns, credit notes,
close-outs with random edits, trials, undos, period locks, raised lines and closed orders; DOMAIN.md's promises are
checked after every step.

After every step: every entry balances, numbering is gapless and the hash chain holds
(`check_ledger`); the ledger GR and IR balances equal the lines' sub-balances, per line
and in total (`check_tie_out`); what is lowered and written off, and the write-off
accounts, are explained by the close-outs standing and the write-offs recorded under them
(`check_write_offs`); each close-out lists the entries it and its undo posted, dated and
made as its row says (`check_closeout_entries`), and each line names the newest close-out
standing on it (`check_last_closeouts`); fully closed lines are at zero; nothing expected is
negative. A trial close-out equals the real run that follows it; an undo adds back
exactly what its close-out lowered, and with no document in between restores the
line states exactly.

The normal suite runs a fixed-seed short form (`PLEDGER_MBT_EXAMPLES`, default 100 on
SQLite and 30 on PostgreSQL: with the checks after every step they take about a minute of a
core); `-m long` runs 5,000 with a random seed.
"""

from __future__ import annotations

import datetime as dt
import os
from decimal import ROUND_DOWN, Decimal

import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import func, select

from ledger.check import check_ledger
from ledger.db import make_engine, make_sessionmaker
from ledger.errors import PledgerError
from ledger.models import Account, EntryLine
from ledger.periods import set_locked
from matching.checks import check_closeout_entries, check_last_closeouts, check_write_offs
from matching.closeout import Edit, UndoSelection, run_closeout, undo_closeouts
from matching.models import Closeout, CloseoutLine
from matching.selection import Selection
from matching.order_close import close_order
from purchase.checks import check_raises, check_tie_out
from purchase.documents import DocLine, DocumentPoster, InvoiceDoc, ReceiptDoc
from purchase.masterdata import ItemData, OrderData, OrderLineData, SupplierData, create_orders, upsert_items, upsert_suppliers
from purchase.models import OrderLine, PurchaseOrder, WriteOffOnArrival
from purchase.orders import raise_lines
from purchase.settings import role_accounts
from purchase.state import line_state
from tests.fingerprint import fingerprint

START = dt.date(2026, 1, 5)
quantities = st.integers(min_value=1, max_value=40).map(lambda n: Decimal(n) / 4)  # 0.25 .. 10
prices = st.integers(min_value=1, max_value=2_000_000).map(lambda n: Decimal(n).scaleb(-4))  # 0.0001 .. 200.0000


def half(quantity: Decimal) -> Decimal:
    return (quantity / 2).quantize(Decimal("0.000001"), rounding=ROUND_DOWN)


class Books(RuleBasedStateMachine):
    url_factory = None  # set by the test
    release = None  # likewise: the test's database dropped (`_Templates.release`)

    def __init__(self):
        super().__init__()
        self.url = type(self).url_factory()
        self.engine = make_engine(self.url)
        self.maker = make_sessionmaker(self.engine)
        self.day = START
        self.orders = 0
        self.docs = 0
        self.snapshots: dict[int, dict] = {}  # close-out number -> line states before it
        self.touched: dict[int, bool] = {}  # close-out number -> a document touched its lines since
        self.closed_lines: dict[int, set] = {}
        with self.maker() as s:
            upsert_suppliers(s, [SupplierData("S1", "Supplier one", "EUR"), SupplierData("S2", "Supplier two", "EUR")])
            upsert_items(s, [ItemData("STK", "stock item", True), ItemData("SRV", "service", False)])
            s.commit()

    def teardown(self):
        self.engine.dispose()
        type(self).release(self.url)

    # -- helpers ----------------------------------------------------------------------

    def lines(self, s):
        # in a fixed order: PostgreSQL returns updated rows in any order, and hypothesis must
        # see the same choices when it replays the same steps
        rows = s.execute(select(OrderLine, PurchaseOrder.number, PurchaseOrder.currency).join(PurchaseOrder)
                         .order_by(PurchaseOrder.number, OrderLine.line_no)).all()
        return [(number, line, line_state(line, currency)) for line, number, currency in rows]

    def next_day(self):
        self.day += dt.timedelta(days=1)
        if self.day.year > 2026:
            self.day = dt.date(2026, 12, 31)
        return self.day

    def states(self, s) -> dict:
        return {(n, l.line_no): st_ for n, l, st_ in self.lines(s)}

    def interim(self, s, *roles) -> list[int]:
        codes = role_accounts(s)
        return list(s.scalars(select(Account.id).where(Account.code.in_([codes[r] for r in roles]))))

    def written_off(self, s, number, document=None) -> dict:
        """Per (order, line): the units recorded as written off on arrival under close-out
        `number`, or by `document`."""
        w = WriteOffOnArrival
        stmt = (select(PurchaseOrder.number, OrderLine.line_no, func.sum(w.uninvoiced_units), func.sum(w.unreceived_units))
                .join(OrderLine, OrderLine.id == w.order_line_id).join(PurchaseOrder, PurchaseOrder.id == OrderLine.order_id)
                .where(w.closeout_number == number if document is None else w.document == document)
                .group_by(PurchaseOrder.number, OrderLine.line_no))
        return {(n, l): (u, v) for n, l, u, v in s.execute(stmt)}

    def ran(self, real: dict, before: dict) -> None:
        """Keep what a close-out (its report as JSON) did, for the undo's checks."""
        if real["closeout"] is None:
            return
        self.snapshots[real["closeout"]] = before
        self.touched[real["closeout"]] = False
        self.closed_lines[real["closeout"]] = {(l["order"], l["line"]) for l in real["lines"]}
        for number in self.closed_lines:
            if number != real["closeout"] and self.closed_lines[number] & self.closed_lines[real["closeout"]]:
                self.touched[number] = True  # a newer close-out changed its lines

    def touch(self, key):
        for number, keys in self.closed_lines.items():
            if key in keys:
                self.touched[number] = True

    # -- rules ------------------------------------------------------------------------

    @initialize(n=st.integers(1, 3), data=st.data())
    def start(self, n, data):
        for _ in range(n):
            self.new_order(data)

    @rule(data=st.data())
    def new_order(self, data):
        self.orders += 1
        count = data.draw(st.integers(1, 3))
        lines = [OrderLineData(i + 1, data.draw(st.sampled_from(["STK", "SRV"])), data.draw(quantities), data.draw(prices),
                               vat_rate=data.draw(st.sampled_from([Decimal(0), Decimal(6), Decimal(21)])))
                 for i in range(count)]
        with self.maker() as s:
            create_orders(s, [OrderData(f"PO{self.orders:04d}", data.draw(st.sampled_from(["S1", "S2"])), self.day, lines)])
            s.commit()

    def _document(self, data, kind):
        with self.maker() as s:
            candidates = self.lines(s)
            number, line, state = data.draw(st.sampled_from(candidates))
            if kind == "receipt":
                low, high = -(state.received - state.written_off_uninvoiced), state.to_receive
            else:
                low, high = -(state.invoiced - state.written_off_unreceived), state.to_invoice
            q = data.draw(st.sampled_from([high, low, half(high), Decimal("0.25"), -Decimal("0.25")]))
            self.docs += 1
            try:
                if kind == "receipt":
                    DocumentPoster(s, "mbt").post_receipts([ReceiptDoc(f"R{self.docs}", self.next_day(), [DocLine(number, line.line_no, q)])])
                else:
                    price = data.draw(st.sampled_from([state.price, state.price * Decimal("1.05"), state.price * Decimal("0.97")]))
                    DocumentPoster(s, "mbt").post_invoices([InvoiceDoc(f"I{self.docs}", f"S{self.docs}", self.next_day(), [
                        DocLine(number, line.line_no, q, unit_price=price.quantize(Decimal("0.000001")))])])
                s.commit()
                self.touch((number, line.line_no))
            except PledgerError as exc:
                s.rollback()
                allowed = q == 0 or q > high or q < low or "locked" in str(exc)
                assert allowed, f"refused a valid {kind} of {q} on {number}/{line.line_no} ({low}..{high}): {exc}"

    @rule(data=st.data())
    def receive(self, data):
        self._document(data, "receipt")

    @rule(data=st.data())
    def invoice(self, data):
        self._document(data, "invoice")

    @rule(data=st.data())
    def close_out(self, data):
        with self.maker() as s:
            open_lines = [(n, l, st_) for n, l, st_ in self.lines(s) if st_.is_open]
        if not open_lines:
            return
        picked = data.draw(st.lists(st.sampled_from(open_lines), min_size=1, max_size=3, unique_by=lambda x: (x[0], x[1].line_no)))
        close_fully = data.draw(st.booleans())
        edits = None
        if not close_fully:
            edits = []
            for number, line, state in picked:
                # halves as a user would type them: six decimals at most (the edits file refuses more)
                to_receive = data.draw(st.sampled_from([None, Decimal(0), half(state.to_receive), state.to_receive]))
                to_invoice = data.draw(st.sampled_from([None, Decimal(0), half(state.to_invoice)]))
                edits.append(Edit(number, line.line_no, to_receive, to_invoice))
        orders = sorted({p[0] for p in picked})
        selection = Selection(order=(orders[0], orders[-1]))
        date = self.next_day()
        # trial first, on the very same state: it must equal the real run and leave nothing
        with self.maker() as s:
            before = self.states(s)
            tables = fingerprint(s)
            s.rollback()
            try:
                trial = run_closeout(s, selection, user="mbt", date=date, edits=edits, close_fully=close_fully, trial=True).to_json()
            except PledgerError as exc:
                assert "locked" in str(exc), exc
                return
            finally:
                s.rollback()
        with self.maker() as s:
            assert self.states(s) == before
            assert fingerprint(s) == tables, "a trial close-out left something behind"
            real = run_closeout(s, selection, user="mbt", date=date, edits=edits, close_fully=close_fully).to_json()
            s.commit()
        strip = lambda r: {**r, "closeout": None, "trial": None, "entries": [{**e, "number": None} for e in r["entries"]]}
        assert strip(trial) == strip(real)
        self.ran(real, before)
        if close_fully:
            with self.maker() as s:
                states = self.states(s)
            for number, line, _ in picked:
                st_ = states[(number, line.line_no)]
                assert st_.to_receive == 0 and st_.to_invoice == 0
                assert st_.gr_balance == 0 and st_.ir_balance == 0

    @rule(data=st.data())
    def raise_line(self, data):
        """An over-delivery's raise: Q grows, nothing else of the line, nothing is posted."""
        with self.maker() as s:
            number, line, state = data.draw(st.sampled_from(self.lines(s)))
            by = data.draw(quantities)
            entries = s.scalar(select(func.count()).select_from(EntryLine))
            raise_lines(s, number, {line.line_no: state.ordered + by}, user="mbt", reason="more came")
            s.commit()
        self.touch((number, line.line_no))  # an undo no longer restores its close-out's state exactly
        with self.maker() as s:
            after = self.states(s)[(number, line.line_no)]
            assert after == state._replace(ordered=state.ordered + by)
            assert s.scalar(select(func.count()).select_from(EntryLine)) == entries

    @rule(data=st.data())
    def close_order(self, data):
        """`po close --not-coming` (a close-out of what remains to receive), or on an order
        with no receipt `--assume-delivered` (a receipt of it all): nothing left to receive."""
        with self.maker() as s:
            waiting = sorted({n for n, _, st_ in self.lines(s) if st_.to_receive > 0})
        if not waiting:
            return
        number = data.draw(st.sampled_from(waiting))
        delivered = data.draw(st.booleans())
        self.docs += 1
        with self.maker() as s:
            before = self.states(s)
            try:
                closed = close_order(s, number, user="mbt", date=self.next_day(), not_coming=not delivered,
                                     assume_delivered=f"R{self.docs}" if delivered else None)
                s.commit()
            except PledgerError as exc:
                s.rollback()
                assert delivered and "has receipts" in str(exc) or "locked" in str(exc), exc
                return
        if closed.report is not None:
            self.ran(closed.report.to_json(), before)
        else:  # a receipt: a document on the order's lines
            for key in before:
                if key[0] == number:
                    self.touch(key)
        with self.maker() as s:
            after = self.states(s)
        assert all(st_.to_receive == 0 for key, st_ in after.items() if key[0] == number)
        assert all(after[key] == before[key] for key in before if key[0] != number)

    @rule(data=st.data())
    def undo(self, data):
        with self.maker() as s:
            standing = [c.number for c in s.scalars(select(Closeout).where(Closeout.undone_at.is_(None)).order_by(Closeout.number))]
        if not standing:
            return
        number = data.draw(st.sampled_from(standing))
        with self.maker() as s:
            before = self.states(s)
            lowered = {  # plain rows (not ORM objects): they outlive this session
                (row.number, row.line_no): row for row in s.execute(
                    select(CloseoutLine.__table__, PurchaseOrder.number, OrderLine.line_no)
                    .join(OrderLine, OrderLine.id == CloseoutLine.order_line_id)
                    .join(PurchaseOrder, PurchaseOrder.id == OrderLine.order_id)
                    .join(Closeout, Closeout.id == CloseoutLine.closeout_id).where(Closeout.number == number))
            }
            newer = any(n > number and self.closed_lines.get(n, set()) & self.closed_lines.get(number, set()) for n in standing)
            arrived = self.written_off(s, number)
            tables = fingerprint(s)
            s.rollback()
            undo_day = self.next_day()
            try:
                trial = undo_closeouts(s, UndoSelection(numbers=(number, number)), user="mbt", date=undo_day, trial=True)[0].to_json()
            except PledgerError:
                trial = None
            finally:
                s.rollback()
            assert fingerprint(s) == tables, "a trial undo left something behind"
            s.rollback()
            try:
                real = undo_closeouts(s, UndoSelection(numbers=(number, number)), user="mbt", date=undo_day)[0].to_json()
                s.commit()
            except PledgerError as exc:
                s.rollback()
                assert newer or "locked" in str(exc), exc
                return
            assert not newer, "an older close-out was undone while a newer one stood"
            strip = lambda r: {**r, "trial": None, "entries": [{**e, "number": None} for e in r["entries"]]}
            assert trial is not None and strip(trial) == strip(real)
        with self.maker() as s:
            after = self.states(s)
            settled = self.written_off(s, None, document=f"undo closeout {number}")
        for key, row in lowered.items():
            b, a = before[key], after[key]
            back_u, back_v = arrived.get(key, (0, 0))  # written off under it as documents arrived: given back
            again_u, again_v = settled.get(key, (0, 0))  # settled again under an older close-out
            assert a.lowered_receive == b.lowered_receive - (row.to_receive_before - row.to_receive_after)
            assert a.lowered_invoice == b.lowered_invoice - (row.to_invoice_before - row.to_invoice_after)
            assert a.written_off_uninvoiced == b.written_off_uninvoiced - row.uninvoiced_units - back_u + again_u
            assert a.written_off_unreceived == b.written_off_unreceived - row.unreceived_units - back_v + again_v
        if not self.touched.get(number, True):
            snapshot = self.snapshots[number]
            for key in lowered:
                assert after[key] == snapshot[key], f"undo of {number} did not restore {key}"
                assert after[key].gr_balance == snapshot[key].gr_balance and after[key].ir_balance == snapshot[key].ir_balance

    @rule(month=st.integers(1, 12), data=st.data())
    def lock_and_try(self, month, data):
        """A locked period takes no posting; then it is unlocked again."""
        with self.maker() as s:
            set_locked(s, 2026, month, True, user="ann")
            s.commit()
        with self.maker() as s:
            candidates = [(n, l, st_) for n, l, st_ in self.lines(s) if st_.to_receive > 0]
            if candidates:
                number, line, _ = data.draw(st.sampled_from(candidates))
                self.docs += 1
                with pytest.raises(PledgerError, match="locked"):
                    DocumentPoster(s, "mbt").post_receipts([ReceiptDoc(f"R{self.docs}", dt.date(2026, month, 15), [DocLine(number, line.line_no, Decimal("0.25"))])])
            s.rollback()
        with self.maker() as s:
            set_locked(s, 2026, month, False, user="ann")
            s.commit()

    # -- invariants -------------------------------------------------------------------

    @invariant()
    def books_hold(self):
        with self.maker() as s:
            assert check_ledger(s) == []
            assert check_tie_out(s) == []
            assert check_write_offs(s) == []
            assert check_raises(s) == []
            assert check_closeout_entries(s) == []
            assert check_last_closeouts(s) == []
            for _, _, state in self.lines(s):
                assert state.received >= state.written_off_uninvoiced >= 0
                assert state.invoiced >= state.written_off_unreceived >= 0
                assert state.to_receive >= 0 and state.to_invoice >= 0
                if state.to_receive == 0 and state.to_invoice == 0:
                    assert state.gr_balance == 0 and state.ir_balance == 0

    @invariant()
    def a_line_no_close_out_stands_on_holds_nothing_lowered_or_written_off(self):
        """With every close-out of a line undone (or none run), nothing of it is lowered or
        written off, and the uninvoiced-receipts and unreceived-invoices accounts hold
        nothing for it: the undos gave back exactly what was put there."""
        with self.maker() as s:
            standing = set(s.scalars(select(CloseoutLine.order_line_id).join(Closeout, Closeout.id == CloseoutLine.closeout_id)
                                     .where(Closeout.undone_at.is_(None))))
            interim = self.interim(s, "uninvoiced_receipts", "unreceived_invoices")
            held = dict(s.execute(select(EntryLine.order_line_id, func.sum(EntryLine.debit - EntryLine.credit))
                                  .where(EntryLine.account_id.in_(interim)).group_by(EntryLine.order_line_id)).all())
            for number, line, state in self.lines(s):
                if line.id in standing:
                    continue
                where = f"{number} line {line.line_no}"
                assert (state.lowered_receive, state.lowered_invoice) == (0, 0), where
                assert (state.written_off_uninvoiced, state.written_off_unreceived) == (0, 0), where
                assert not held.get(line.id), f"{where}: {held.get(line.id)} left on the write-off accounts"


def _run(templates, db_kind, examples, steps, seed):
    Books.url_factory = (lambda: templates.sqlite()) if db_kind == "sqlite" else (lambda: templates.postgresql())
    Books.release = templates.release
    run_state_machine_as_test(
        Books,
        settings=settings(max_examples=examples, stateful_step_count=steps, deadline=None, derandomize=seed is None,
                          database=None, suppress_health_check=list(HealthCheck)),
    )


def test_model_based_short(templates, db_kind):
    default = 100 if db_kind == "sqlite" else 30
    examples = int(os.environ.get("PLEDGER_MBT_EXAMPLES", default))
    _run(templates, db_kind, examples, 12, None)


@pytest.mark.long
def test_model_based_long(templates, db_kind):
    examples = int(os.environ.get("PLEDGER_MBT_LONG_EXAMPLES", 5000))
    _run(templates, db_kind, examples, 25, "random")
