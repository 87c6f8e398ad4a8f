"""Batch reads (`ledger.bulk.select_in`): the rows Core would give, as plain tuples, on both databases."""

from decimal import Decimal

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import OperationalError

from ledger.bulk import select_in
from purchase.lines import _LINES, _ORDERS, LineBook, MasterData, _orders_plan, _plan
from purchase.models import Item, OrderLine, PurchaseOrder, Supplier
from tests.builders import DAY, D, invoice, item, order, receive, supplier


def _book(s):
    supplier(s)
    item(s)
    item(s, "SERVICE", stock=False, description="Hourly work")
    order(s, "PO-1", ("BOLT", D("10"), D("2.5")), ("SERVICE", D("4.125"), D("1.234567")))
    order(s, "PO-2", ("BOLT", D("3"), D("0.0001")))
    receive(s, "PO-1", 1, D("6"))
    invoice(s, "PO-1", 2, D("1.5"))


def test_the_rows_are_those_core_reads_with_the_same_types(books):
    with books.session() as s:
        _book(s)
        ids = [i for i, in s.execute(select(OrderLine.id).order_by(OrderLine.id))]
        by_core = [tuple(r) for r in s.connection().execute(_LINES.where(OrderLine.id.in_(ids)).order_by(OrderLine.id))]
        read = select_in(s, _plan("id", s.get_bind().dialect), ids)
        assert read == by_core and len(read) == 3
        assert [[type(v) for v in row] for row in read] == [[type(v) for v in row] for row in by_core]
        first = dict(zip(_LINES.selected_columns.keys(), read[0]))
        assert first["received"] == Decimal("6") and first["last_closeout_number"] is None
        heads = select_in(s, _orders_plan("number", s.get_bind().dialect), ["PO-1", "PO-2"])
        heads_by_core = [tuple(r) for r in s.connection().execute(_ORDERS.order_by(PurchaseOrder.id))]
        assert heads == heads_by_core and [[type(v) for v in r] for r in heads] == [[type(v) for v in r] for r in heads_by_core]
        # by order id, only the orders asked for; by line id, only those lines; nothing asked, nothing read
        (po2,) = [h[0] for h in heads if h[1] == "PO-2"]
        assert [r[0] for r in select_in(s, _plan("order_id", s.get_bind().dialect), [po2])] == ids[2:]
        assert [r[0] for r in select_in(s, _plan("id", s.get_bind().dialect), ids[:2])] == ids[:2]
        assert select_in(s, _plan("id", s.get_bind().dialect), []) == []


def test_a_line_record_holds_what_the_join_of_its_order_supplier_and_item_says(books):
    """The lines, their orders, suppliers and items are read apart; each record is what one join gives."""
    with books.session() as s:
        _book(s)
        joined = s.execute(
            select(OrderLine.id, PurchaseOrder.number, PurchaseOrder.status, OrderLine.line_no, PurchaseOrder.supplier_id,
                   Supplier.code, PurchaseOrder.order_date, Item.code, Item.stock_item, PurchaseOrder.currency,
                   OrderLine.vat_rate, OrderLine.quantity, OrderLine.net_price, OrderLine.received, OrderLine.invoiced)
            .join(PurchaseOrder, PurchaseOrder.id == OrderLine.order_id).join(Supplier, Supplier.id == PurchaseOrder.supplier_id)
            .join(Item, Item.id == OrderLine.item_id).order_by(OrderLine.id)).all()
        masters = MasterData()
        for keys in ([("PO-1", 1)], [("PO-2", 1), ("PO-1", 2)]):  # two books of one run share what they read of master data
            book = LineBook(s, masters=masters)
            book.load_keys(keys)
            for r in book.by_id.values():
                assert (r.id, r.order_number, r.order_status, r.line_no, r.supplier_id, r.supplier_code, r.order_date,
                        r.item_code, r.stock_item, r.currency, r.vat_rate, r.state.ordered, r.state.price, r.state.received,
                        r.state.invoiced) == tuple(next(j for j in joined if j[0] == r.id))
        assert set(masters.items.values()) == {("BOLT", True), ("SERVICE", False)} and len(masters.supplier_codes) == 1


def test_the_line_book_reads_whole_orders(books):
    with books.session() as s:
        _book(s)
        ids = [i for i, in s.execute(select(OrderLine.id).order_by(OrderLine.id))]
        (order_id,) = {o for o, in s.execute(select(OrderLine.order_id).where(OrderLine.id.in_(ids[:2])))}
        book = LineBook(s)
        book.load_orders([order_id])  # PO-1: both its lines
        assert sorted(book.by_id) == ids[:2] and book.whole == {order_id}
        assert book.get("PO-1", 2).state.invoiced == Decimal("1.5") and book.get("PO-1", 2).stock_item is False


def test_a_close_out_chunk_holds_whole_orders_and_names_each_of_its_orders_once(books):
    from matching.selection import Selection, chunks_by_order
    from purchase.models import PurchaseOrder

    with books.session() as s:
        supplier(s)
        item(s)
        for n, lines in enumerate((3, 1, 4, 2, 5), 1):
            order(s, f"PO-{n}", *[("BOLT", D(q + 1), D("1.5")) for q in range(lines)])
        lines = s.execute(select(OrderLine.id, OrderLine.order_id).join(PurchaseOrder)
                          .order_by(PurchaseOrder.number, OrderLine.line_no)).all()
        totals = []
        chunks = list(chunks_by_order(s, Selection(), 4, on_total=totals.append))
        assert totals == [15]
        assert [len(c.ids) for c in chunks] == [4, 4, 7]  # PO-1 + PO-2, PO-3, PO-4 + PO-5: a chunk ends at an order
        assert [i for c in chunks for i in c.ids] == [i for i, _ in lines]
        for chunk in chunks:  # each order once, in the chunk's order, and no order in two chunks
            of_lines = [o for i, o in lines if i in chunk.ids]
            assert chunk.order_ids == list(dict.fromkeys(of_lines))
        assert sum(len(c.order_ids) for c in chunks) == 5
        book = LineBook(s)
        book.load_orders(chunks[1].order_ids)
        assert sorted(book.by_id) == sorted(chunks[1].ids) and book.whole == set(chunks[1].order_ids)


@pytest.mark.postgresql_only
def test_on_postgresql_the_lines_read_and_their_orders_are_locked_until_the_transaction_ends(books):
    with books.session() as s:
        _book(s)
        s.commit()
        ids = [i for i, in s.execute(select(OrderLine.id).order_by(OrderLine.id))]
        s.rollback()
        (order_id,) = {o for o, in s.execute(select(OrderLine.order_id).where(OrderLine.id == ids[0]))}
        (other_order,) = {o for o, in s.execute(select(OrderLine.order_id).where(OrderLine.id == ids[2]))}
        s.rollback()
        book = LineBook(s)
        book.load_orders([order_id])  # PO-1's two lines and PO-1, locked by this transaction
        lock = {"line": "SELECT id FROM order_lines WHERE id = :i FOR UPDATE NOWAIT",
                "order": "SELECT id FROM purchase_orders WHERE id = :i FOR UPDATE NOWAIT"}
        with books.engine.connect() as other:
            for kind, held, free in (("line", ids[1], ids[2]), ("order", order_id, other_order)):
                with pytest.raises(OperationalError, match="could not obtain lock"):
                    other.execute(text(lock[kind]), {"i": held})
                other.rollback()
                assert other.execute(text(lock[kind]), {"i": free}).scalar() == free
                other.rollback()
        s.rollback()
        with books.engine.connect() as other:  # released with the transaction
            assert other.execute(text(lock["line"]), {"i": ids[1]}).scalar() == ids[1]
            assert other.execute(text(lock["order"]), {"i": order_id}).scalar() == order_id
        book = LineBook(s)
        book.load_keys([("PO-2", 1)])  # found by number unlocked, then read by id and locked
        with books.engine.connect() as other:
            with pytest.raises(OperationalError, match="could not obtain lock"):
                other.execute(text(lock["order"]), {"i": other_order})
            other.rollback()
        s.rollback()


def test_one_of_is_one_statement_text_for_any_number_of_values_and_finds_the_same_rows(books):
    from ledger.db import one_of
    from purchase.models import PurchaseOrder

    with books.session() as s:
        _book(s)
        statements = []

        def seen(conn, cursor, statement, parameters, context, executemany):
            statements.append(statement)

        event.listen(books.engine, "before_cursor_execute", seen)
        try:
            found = [s.scalars(select(PurchaseOrder.number).where(one_of(s, PurchaseOrder.number, numbers))
                               .order_by(PurchaseOrder.number)).all()
                     for numbers in (["PO-1"], ["PO-2", "PO-1", "PO-9", "it's \"quoted\" ü"], [])]
        finally:
            event.remove(books.engine, "before_cursor_execute", seen)
        assert found == [["PO-1"], ["PO-1", "PO-2"], []]
        assert len(set(statements)) == 1  # the same text, compiled once
        ids = [i for i, in s.execute(select(OrderLine.id).order_by(OrderLine.id))]
        assert s.scalars(select(OrderLine.id).where(one_of(s, OrderLine.id, ids[1:] + [10**9]))
                         .order_by(OrderLine.id)).all() == ids[1:]
        if books.dialect == "sqlite":
            statement = select(PurchaseOrder.id).where(one_of(s, PurchaseOrder.number, ["PO-1"]))
            sql = str(statement.compile(dialect=books.engine.dialect))
            plan = [row[-1] for row in s.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", ('["PO-1"]',))]
            assert any(step.startswith("SEARCH purchase_orders USING") for step in plan), plan
            # values that are not whole numbers or texts go as an IN list, as before
            dates = str(select(PurchaseOrder.id).where(one_of(s, PurchaseOrder.order_date, [DAY]))
                        .compile(dialect=books.engine.dialect))
            assert "json_each" not in dates and "IN" in dates


def test_refresh_statuses_takes_the_statuses_given_and_reads_the_others(books):
    """A close-out chunk gives the statuses its book read with the lines (`LineBook.statuses`,
    locked on PostgreSQL, and SQLite has one writer): those orders are not read again. Shown
    with a status changed behind the book's back, which the refresh does not see; without
    the statuses given, it reads them."""
    from sqlalchemy import update

    from purchase.orders import refresh_statuses

    with books.session() as s:
        _book(s)  # PO-1: 6 of 10 received, so "partly_received" follows from any "ordered"
        order_id = s.scalar(select(PurchaseOrder.id).where(PurchaseOrder.number == "PO-1"))
        s.execute(update(PurchaseOrder).where(PurchaseOrder.id == order_id).values(status="ordered"))
        book = LineBook(s, stored=True)
        book.load_orders([order_id])
        assert book.statuses == {order_id: "ordered"}
        s.execute(update(PurchaseOrder).where(PurchaseOrder.id == order_id).values(status="shipped"))  # not seen by the book
        refresh_statuses(s, [order_id], known=book.whole_orders(), statuses=book.statuses)
        status = s.scalar(select(PurchaseOrder.status).where(PurchaseOrder.id == order_id))
        assert status == "partly_received"
        s.execute(update(PurchaseOrder).where(PurchaseOrder.id == order_id).values(status="shipped"))
        refresh_statuses(s, [order_id], known=book.whole_orders())  # without them, read on both: shipped stays shipped
        assert s.scalar(select(PurchaseOrder.status).where(PurchaseOrder.id == order_id)) == "shipped"


@pytest.mark.postgresql_only
def test_batch_reads_find_their_rows_through_the_index_on_a_vacuumed_book(books):
    """A close-out chunk reads the lines of a few hundred orders. Given the array of their ids
    itself, the planner weighs that many index lookups against reading the whole table, and
    on a vacuumed book it reads the whole table, for every chunk. `select_in` and `one_of`
    give the array as a scalar subquery, and the rows are found through the index."""
    from ledger.db import one_of

    with books.session() as s:
        _book(s)
    columns = [c for c in OrderLine.__table__.columns.keys() if c not in ("id", "order_id")]
    heads = [c for c in PurchaseOrder.__table__.columns.keys() if c not in ("id", "number")]
    with books.engine.connect() as c:  # 20,000 orders of 5 lines: copies of PO-2 and its line
        c.execute(text(f"INSERT INTO purchase_orders (number, {', '.join(heads)}) "
                       f"SELECT 'G-' || n, {', '.join(heads)} FROM purchase_orders, generate_series(1, 20000) AS n "
                       "WHERE number = 'PO-2'"))
        c.execute(text(f"INSERT INTO order_lines (order_id, {', '.join(columns)}) "
                       f"SELECT o.id, {', '.join('l.' + k if k != 'line_no' else 'n' for k in columns)} "
                       "FROM purchase_orders o, order_lines l JOIN purchase_orders p ON p.id = l.order_id AND p.number = 'PO-2', "
                       "generate_series(1, 5) AS n WHERE o.number LIKE 'G-%'"))
        c.commit()
    with books.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("VACUUM ANALYZE purchase_orders, order_lines"))
    with books.session() as s:
        chunk = s.scalars(select(PurchaseOrder.id).where(PurchaseOrder.number.like("G-%"))
                          .order_by(PurchaseOrder.id).limit(615)).all()
        cursor = s.connection().connection.driver_connection.cursor()

        def plan(sql: str, params) -> str:
            cursor.execute("EXPLAIN " + sql, params)
            return "\n".join(r[0] for r in cursor.fetchall())

        lines = _plan("order_id", books.engine.dialect)
        given_as_is = f"{lines.base} WHERE order_lines.order_id = ANY (%s::INTEGER[]){lines.tail}"
        assert "Seq Scan on order_lines" in plan(given_as_is, (chunk,))  # the book misleads the planner
        read = plan(f"{lines.base} WHERE {lines.condition}{lines.tail}", (chunk,))
        assert "Seq Scan" not in read and "uq_order_lines_order_id" in read, read
        assert len(select_in(s, lines, chunk)) == 5 * 615
        by_one_of = select(OrderLine.id).where(one_of(s, OrderLine.order_id, chunk))
        compiled = by_one_of.compile(dialect=books.engine.dialect)
        sql = str(compiled).replace(f"%({next(iter(compiled.params))})s", "%s")
        read = plan(sql, (chunk,))
        assert "Seq Scan" not in read and "uq_order_lines_order_id" in read, read
        assert len(s.scalars(by_one_of).all()) == 5 * 615
