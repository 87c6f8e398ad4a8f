"""Exact storage: scaled integers on both databases, so SQL SUM is exact."""

from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from ledger.models import Account, Entry, EntryLine
from ledger.money import MoneyError
from ledger.posting import EntrySpec, LineSpec, Poster
from hypothesis import given, strategies as st

from ledger.types import from_scaled, scaled_column, scaled_writer, to_scaled
import datetime as dt


def test_scaled_round_trip_and_refusal_of_excess_decimals():
    assert to_scaled(Decimal("1000.01"), 4) == 10000100
    assert from_scaled(10000100, 4) == Decimal("1000.01")
    assert to_scaled("-0.000001", 6) == -1
    with pytest.raises(MoneyError, match="more than 4 decimals"):
        to_scaled(Decimal("0.00001"), 4)
    with pytest.raises(MoneyError):
        to_scaled(0.1, 4)


def test_a_batch_column_converts_exactly_and_refuses_what_is_not_money():
    convert = scaled_column(4)
    assert convert([Decimal("0.5"), None, Decimal("0.50"), Decimal("-12.3456")]) == [5000, None, 5000, -123456]
    convert([Decimal("0.5")])  # now cached: a float equal to it must still be refused
    for bad in ([Decimal("0.5"), 0.5], [Decimal("NaN")], [Decimal("sNaN")], [Decimal("Infinity")], [Decimal("0.00001")]):
        with pytest.raises(MoneyError):
            convert(bad)


def test_a_decimal_of_more_digits_than_the_default_precision_is_refused_not_rounded():
    # 28 digits is the default context's precision: scaling there would round this to 1.0000
    long = Decimal("1.0000000000000000000000000001")
    for convert in (lambda v: to_scaled(v, 4), scaled_writer(4), lambda v: scaled_column(4)([v])[0]):
        with pytest.raises(MoneyError, match="more than 4 decimals"):
            convert(long)
    assert scaled_column(6)([Decimal("123456789012.123456")]) == [123456789012123456]


_ODD = [Decimal(x) for x in ("NaN", "sNaN", "Infinity", "-Infinity", "1E+30", "-0", "1.0000000000000000000000000001")]


@given(st.lists(st.one_of(st.none(), st.sampled_from(_ODD),
                          st.integers(0, 8).flatmap(lambda places: st.decimals(places=places, min_value=-10**15, max_value=10**15))),
                max_size=8))
def test_a_batch_column_converts_as_each_value_alone_would(values):
    def alone(v):
        try:
            return to_scaled(v, 6)
        except MoneyError:
            return MoneyError

    expected = [alone(v) for v in values]
    if MoneyError in expected:
        with pytest.raises(MoneyError):
            scaled_column(6)(values)
        with pytest.raises(MoneyError):
            [scaled_writer(6)(v) for v in values]
    else:
        assert scaled_column(6)(values) == expected
        assert [scaled_writer(6)(v) for v in values] == expected


def test_sql_sum_of_amounts_is_the_exact_decimal(books):
    # 0.10 ten times is 0.9999999999999999 in binary floating point; here it must be 1.00
    with books.session() as s:
        poster = Poster(s, "ann")
        poster.post([
            EntrySpec("MEM", dt.date(2026, 3, 1), [LineSpec("604500", debit=Decimal("0.10")), LineSpec("440000", credit=Decimal("0.10"))])
            for _ in range(10)
        ] + [EntrySpec("MEM", dt.date(2026, 3, 1), [LineSpec("604500", debit=Decimal("12345678901.23")), LineSpec("440000", credit=Decimal("12345678901.23"))])])
    with books.session() as s:
        debit = s.scalar(
            select(func.sum(EntryLine.debit)).join(Account, Account.id == EntryLine.account_id).where(Account.code == "604500")
        )
        assert debit == Decimal("12345678902.23")
    raw = books.raw("select sum(debit) from entry_lines").scalar()
    assert raw == 123456789022300  # the stored integers, scale 4


@pytest.mark.postgresql_only
def test_a_batch_that_grows_a_table_refreshes_its_statistics_inside_the_transaction(books):
    # Without this PostgreSQL plans a year's import as if the tables were still empty
    # (autovacuum refreshes statistics only after commits, and not at all where it is off).
    from sqlalchemy import text

    from ledger.bulk import ANALYZE_FROM, insert_rows
    from purchase.models import Item

    def items(prefix, count):
        return [{"code": f"{prefix}{n:06d}", "description": "bolt", "stock_item": True, "unit": "C62", "min_stock": Decimal(0),
                 "min_order_quantity": Decimal(0), "order_multiple": Decimal(0), "purchase_price": Decimal(0)}
                for n in range(count)]

    def known_rows(s):
        return s.execute(text("SELECT reltuples FROM pg_class WHERE relname = 'items'")).scalar()

    with books.session() as s:
        insert_rows(s, Item, items("IT", ANALYZE_FROM // 2))
        assert known_rows(s) <= 0  # not yet: fewer rows than ANALYZE_FROM
        insert_rows(s, Item, items("IU", ANALYZE_FROM))
        assert known_rows(s) == ANALYZE_FROM // 2 + ANALYZE_FROM  # this transaction's own rows, counted
        assert s.execute(text("SELECT count(*) FROM pg_stats WHERE tablename = 'items' AND attname = 'code'")).scalar() == 1
        s.commit()


def test_a_batch_update_by_id_writes_every_row_and_only_those_in_one_statement(books):
    # above COPY_FROM rows PostgreSQL takes one UPDATE ... FROM unnest() of an array per
    # column; SQLite (and few rows) one executemany
    from sqlalchemy import event

    from ledger.bulk import COPY_FROM, insert_returning_ids, update_by_id
    from purchase.models import Item

    count = COPY_FROM + 50
    rows = [{"code": f"B{n:05d}", "description": "bolt", "stock_item": True, "unit": "C62", "min_stock": Decimal(0),
             "min_order_quantity": Decimal(0), "order_multiple": Decimal(0), "purchase_price": Decimal("1.5")}
            for n in range(count)]
    changes = lambda ids: [{"description": f"nut {i}", "stock_item": i % 3 == 0, "min_stock": Decimal(i) / 8,
                            "purchase_price": Decimal("0.000001") * i, "id": i} for i in ids]
    with books.session() as s:
        ids = insert_returning_ids(s, Item, rows)
        statements = []
        listen = lambda conn, cursor, statement, *args: statements.append(statement)
        event.listen(s.connection().engine, "before_cursor_execute", listen)
        try:
            update_by_id(s, Item, changes(ids[1::2]))  # above COPY_FROM: every other item
            update_by_id(s, Item, changes(ids[:2]))  # a few rows
        finally:
            event.remove(s.connection().engine, "before_cursor_execute", listen)
        assert len(statements) == 2
        s.commit()
    changed = {c["id"]: c for c in changes(ids[1::2] + ids[:2])}
    with books.session() as s:
        stored = s.execute(select(Item.id, Item.description, Item.stock_item, Item.min_stock, Item.purchase_price)
                           .where(Item.code.like("B%")).order_by(Item.id)).all()
    assert len(stored) == count
    for id_, description, stock_item, min_stock, purchase_price in stored:
        want = changed.get(id_, {"description": "bolt", "stock_item": True, "min_stock": Decimal(0), "purchase_price": Decimal("1.5")})
        assert (description, stock_item, min_stock, purchase_price) == (want["description"], want["stock_item"], want["min_stock"], want["purchase_price"])


def test_a_batch_update_by_id_takes_tuples_with_their_columns_named_the_id_last(books):
    from ledger.bulk import COPY_FROM, insert_returning_ids, update_by_id
    from purchase.models import Item

    rows = [{"code": f"T{n:05d}", "description": "bolt", "stock_item": True, "unit": "C62", "min_stock": Decimal(0),
             "min_order_quantity": Decimal(0), "order_multiple": Decimal(0), "purchase_price": Decimal("1.5")}
            for n in range(COPY_FROM + 20)]
    columns = ("description", "min_stock", "id")
    with books.session() as s:
        ids = insert_returning_ids(s, Item, rows)
        update_by_id(s, Item, [(f"nut {i}", Decimal(i) / 8, i) for i in ids[2:]], columns=columns)  # many rows
        update_by_id(s, Item, [("washer", Decimal("0.000001"), ids[0])], columns=columns)  # one row
        with pytest.raises(ValueError, match="the last column is the id"):
            update_by_id(s, Item, [(ids[1], "x")], columns=("id", "description"))
        s.commit()
    with books.session() as s:
        stored = s.execute(select(Item.id, Item.description, Item.min_stock).where(Item.code.like("T%")).order_by(Item.id)).all()
    assert stored == [(ids[0], "washer", Decimal("0.000001")), (ids[1], "bolt", Decimal(0))] + [
        (i, f"nut {i}", Decimal(i) / 8) for i in ids[2:]]


def test_the_batch_paths_raise_database_errors_as_sqlalchemy_does_so_callers_catch_and_retry_them(books):
    # select_in and the PostgreSQL COPY go through the driver's own cursor; what the database
    # refuses there still arrives as sqlalchemy.exc.DBAPIError (a retry is decided on it)
    from sqlalchemy.exc import DBAPIError, IntegrityError

    from cli.app import retry_reason
    from ledger.bulk import COPY_FROM, ReadPlan, insert_rows, select_in
    from purchase.models import Item

    with books.session() as s:
        missing = ReadPlan("SELECT id FROM no_such_table", "id", None if books.dialect == "sqlite" else "id = ANY (%s::integer[])",
                           "", (None,))
        with pytest.raises(DBAPIError, match="no_such_table") as raised:
            select_in(s, missing, [1])
        assert raised.value.orig is not None
        s.rollback()
        row = {"code": "DUP", "description": "bolt", "stock_item": True, "unit": "C62", "min_stock": Decimal(0),
               "min_order_quantity": Decimal(0), "order_multiple": Decimal(0), "purchase_price": Decimal(1)}
        with pytest.raises(IntegrityError) as raised:  # on PostgreSQL through COPY: as many rows as that takes
            insert_rows(s, Item, [row] * (COPY_FROM + 1))
        if books.dialect == "postgresql":
            assert retry_reason(raised.value) == "concurrent insert of the same key"
        s.rollback()


def test_an_array_parameter_of_whole_numbers_goes_as_the_arrays_text_and_others_as_lists():
    from ledger.bulk import pg_array

    assert pg_array([3, -7, 2**62]) == "{3,-7,4611686018427387904}"
    assert pg_array([None, 5, None]) == "{NULL,5,NULL}"
    assert pg_array([]) == "{}"
    # anything else is psycopg's to dump: texts, dates, booleans (never "True" in an integer array)
    assert pg_array(["a", "b"]) == ["a", "b"] and pg_array([True, 1]) == [True, 1]
    assert pg_array((dt.date(2026, 12, 31),)) == [dt.date(2026, 12, 31)]


@pytest.mark.postgresql_only
def test_postgresql_reads_an_integer_arrays_text_as_the_same_numbers(books):
    from ledger.bulk import pg_array

    cases = [[3, -7, 2**62, -(2**63)], [None, 5, None], [], [0]]
    with books.session() as s:
        cursor = s.connection().connection.driver_connection.cursor()
        for values in cases:
            (read,) = cursor.execute("SELECT %s::bigint[]", (pg_array(values),)).fetchone()
            assert read == values


@pytest.mark.postgresql_only
def test_a_batch_update_hides_its_arrays_length_from_the_planner_so_rows_are_found_by_primary_key(books):
    # given the arrays themselves, the planner estimates unnest() at their length and, on a
    # book of 100,000 order lines, chose a hash join over a sequential scan of the table for
    # every chunk of 2,000; given as scalar subqueries they are estimated at ten rows
    from ledger.bulk import _plan, pg_array
    from purchase.models import Item

    with books.session() as s:
        connection = s.connection()
        sql, _ = _plan(Item.__table__, connection.dialect, "array_update", ("description", "id"))
        ids = list(range(1, 2001))
        plan = [line for line, in connection.exec_driver_sql("EXPLAIN " + sql, (["x"] * len(ids), pg_array(ids)))]
        (scan,) = [line for line in plan if "Function Scan" in line]
        assert " rows=10 " in scan, plan


@pytest.mark.postgresql_only
def test_postgresql_plans_each_statement_with_its_parameters_none_is_prepared(books):
    # a prepared statement gets a generic plan after a few executions, made from the
    # statistics of that moment: an import's duplicate check kept a sequential scan of
    # purchase_orders planned when the table was nearly empty. Nothing is prepared, so
    # every execution is planned with its parameters and the table as it is.
    from ledger.db import one_of
    from purchase.models import PurchaseOrder

    with books.session() as s:
        for n in range(12):
            s.scalars(select(PurchaseOrder.number).where(one_of(s, PurchaseOrder.number, [f"PO-{n}", "PO-X"]))).all()
        assert s.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar() == 0
