"""Imports read their file as a stream, a chunk of documents at a time, and still take a
file whole or not at all: a refusal after chunks were posted leaves the books unchanged."""

from __future__ import annotations

import pytest
from hypothesis import example, given, strategies as st

from purchase import csvfile, imports
from tests.builders import item, order, supplier
from tests.fingerprint import fingerprint

HEADER = "receipt,date,order,line,quantity\n"


@pytest.fixture
def shop(books, monkeypatch):
    """Five one-line orders of 10 bolts; imports post two rows of documents at a time."""
    with books.session() as s:
        supplier(s)
        item(s)
        for n in range(1, 6):
            order(s, f"PO-{n}", ("BOLT", 10, "2.50"))
    monkeypatch.setattr(imports, "CHUNK_LINES", 2)
    return books


def tables(books):
    with books.session() as s:
        return fingerprint(s)


def import_receipts(books, tmp_path, body: str):
    path = tmp_path / "receipts.csv"
    path.write_text(HEADER + body, encoding="utf-8")
    return path, books.cli("import", "receipts", str(path))


def test_one_document_is_said_in_the_singular(shop, tmp_path):
    _, result = import_receipts(shop, tmp_path, "R-1,2026-05-04,PO-1,1,4\n")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "imported receipts: 1 document with 1 line posted in 1 entry"


def test_a_file_of_many_chunks_is_posted_whole(shop, tmp_path):
    body = "".join(f"R-{n},2026-05-04,PO-{n},1,4\n" for n in range(1, 6))
    _, result = import_receipts(shop, tmp_path, body)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "imported receipts: 5 documents with 5 lines posted in 5 entries"
    assert shop.raw("select count(*) from receipt_lines").scalar() == 5
    assert "check passed" in shop.cli("check").output


@pytest.mark.parametrize("last_row, message", [
    ("R-5,2026-05-32,PO-5,1,4\n", "row 6, column date: '2026-05-32' is not a date that exists"),
    ("R-5,2026-05-04,PO-5,1,11\n", "row 6, column quantity: receipt R-5, order PO-5 line 1: over-receipt refused: the line still expects 10 to receive, not 11"),
    ("R-5,2026-05-04,PO-9,1,4\n", "row 6, column order: receipt R-5, order PO-9 line 1: no such order: see 'pledger po list'"),
    ("R-5,2026-05-04,PO-5,2,4\n", "row 6, column line: receipt R-5, order PO-5 line 2: no such order line"),
    ("R-1,2026-05-04,PO-5,1,11\n", "row 6, column quantity: receipt R-1, order PO-5 line 1: over-receipt refused"),
], ids=["unparsable", "over-receipt", "unknown-order", "unknown-line", "a-document-apart"])
def test_a_refusal_in_the_last_chunk_writes_nothing_of_the_earlier_ones(shop, tmp_path, last_row, message):
    before = tables(shop)
    body = "".join(f"R-{n},2026-05-04,PO-{n},1,4\n" for n in range(1, 5)) + last_row
    path, result = import_receipts(shop, tmp_path, body)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"pledger: {path}: {message}"), result.stderr
    assert result.stderr.count("\n") == 1
    assert tables(shop) == before


def test_a_documents_rows_apart_in_the_file_form_one_document(shop, tmp_path):
    """CLI.md: rows sharing the first column form one document, wherever they stand (a file
    sorted by date or by order); documents are posted in the order they first appear."""
    body = ("R-1,2026-05-04,PO-1,1,4\n"
            "R-2,2026-05-04,PO-2,1,3\n"
            "R-3,2026-05-05,PO-3,1,2\n"
            "R-1,2026-05-04,PO-4,1,1\n"  # R-1 again, after two other receipts
            "R-2,2026-05-04,PO-5,1,5\n")
    _, result = import_receipts(shop, tmp_path, body)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "imported receipts: 3 documents with 5 lines posted in 3 entries"
    rows = shop.raw("select r.number, o.number, rl.quantity from receipt_lines rl join receipts r on r.id = rl.receipt_id "
                    "join order_lines l on l.id = rl.order_line_id join purchase_orders o on o.id = l.order_id "
                    "order by r.id, o.number").all()
    assert [(r, o) for r, o, _ in rows] == [("R-1", "PO-1"), ("R-1", "PO-4"), ("R-2", "PO-2"), ("R-2", "PO-5"), ("R-3", "PO-3")]
    numbers = shop.raw("select description, number from entries where source = 'receipt' order by number").all()
    assert [d for d, _ in numbers] == ["receipt R-1", "receipt R-2", "receipt R-3"]
    assert "check passed" in shop.cli("check").output


@pytest.mark.parametrize("last_row, message", [
    ("-R4,2026-05-04,PO-4,1,1\n", "row 6, column receipt: '-R4' begins with '-'"),
    (",2026-05-04,PO-4,1,1\n", "row 6, column receipt: a value is required"),
], ids=["bad-number", "blank-number"])
def test_a_bad_document_number_after_a_document_apart_is_the_refusal_given(shop, tmp_path, last_row, message):
    """Rows of R-1 apart are allowed (CLI.md); a bad number after them was refused as
    'R-1 appeared before, separated by other documents; keep a document's rows together'."""
    before = tables(shop)
    body = "R-1,2026-05-04,PO-1,1,4\nR-2,2026-05-04,PO-2,1,3\nR-1,2026-05-04,PO-3,1,1\nR-3,2026-05-04,PO-4,1,1\n"
    path, result = import_receipts(shop, tmp_path, body + last_row)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"pledger: {path}: {message}"), result.stderr
    assert tables(shop) == before


def imported(books, tmp_path, kind: str, text: str) -> str:
    """`pledger import KIND FILE` of `text`, which must go through; what it says."""
    path = tmp_path / f"{kind}.csv"
    path.write_text(text, encoding="utf-8")
    result = books.cli("import", kind, str(path))
    assert result.exit_code == 0, result.output
    return result.output.strip()


def test_an_order_and_an_invoice_apart_in_their_files(shop, tmp_path):
    assert imported(shop, tmp_path, "orders", "order,supplier,order_date,line,item,quantity,unit_price\n"
                                              "PO-8,ACME,2026-05-01,1,BOLT,5,2.50\n"
                                              "PO-9,ACME,2026-05-01,1,BOLT,5,2.50\n"
                                              "PO-8,ACME,2026-05-01,2,BOLT,7,2.50\n") == \
        "imported orders: 2 orders with 3 lines created"
    assert imported(shop, tmp_path, "invoices", "invoice,supplier_invoice,date,order,line,quantity,unit_price,vat_rate\n"
                                                "I-1,S-1,2026-05-06,PO-8,1,5,2.50,21\n"
                                                "I-2,S-2,2026-05-06,PO-9,1,5,2.50,21\n"
                                                "I-1,S-1,2026-05-06,PO-8,2,7,2.50,21\n") == \
        "imported invoices: 2 documents with 3 lines posted in 2 entries"
    assert shop.raw("select count(*) from invoice_lines il join invoices i on i.id = il.invoice_id "
                    "where i.number = 'I-1'").scalar() == 2
    assert "check passed" in shop.cli("check").output


def test_the_parser_gives_rows_before_it_has_read_the_rest(tmp_path):
    path = tmp_path / "receipts.csv"
    path.write_text(HEADER + "R-1,2026-05-04,PO-1,1,4\nR-2,not a date,PO-2,1,4\n", encoding="utf-8")
    rows = csvfile.iter_rows(path, imports.FIELDS["receipts"])
    row_no, values = next(rows)
    assert (row_no, values["receipt"]) == (2, "R-1")
    with pytest.raises(csvfile.CsvError, match="row 3, column date: 'not a date' is not a date"):
        next(rows)


@pytest.mark.parametrize("bad, message", [
    (b"\xe9", "row 20001, column order: byte 0xE9 is not UTF-8"),
    (b"\x00", "row 20001, column order: holds a NUL character"),
])
def test_a_bad_byte_far_into_a_file_is_refused_with_its_row(tmp_path, bad, message):
    """The file is decoded as it is read; a bad byte past the first blocks still names its row and column."""
    good = "".join(f"R-{n},2026-05-04,PO-{n},1,4\n" for n in range(1, 20_000)).encode()
    path = tmp_path / "receipts.csv"
    path.write_bytes(HEADER.encode() + good + b"R-X,2026-05-04,PO" + bad + b"-1,1,4\n")
    with pytest.raises(csvfile.CsvError) as refused:
        for _ in csvfile.iter_rows(path, imports.FIELDS["receipts"]):
            pass
    assert str(refused.value).startswith(f"{path}: {message}"), str(refused.value)


def test_the_progress_total_counts_the_rows_under_the_header(tmp_path):
    path = tmp_path / "receipts.csv"
    path.write_text(HEADER + "".join(f"R-{n},2026-05-04,PO-1,1,1\n" for n in range(7)), encoding="utf-8")
    assert csvfile.count_rows(path) == 7
    assert csvfile.count_rows(tmp_path / "missing.csv") == 0


def test_a_known_supplier_invoice_is_refused_by_its_row(shop, tmp_path):
    path = tmp_path / "invoices.csv"
    header = "invoice,supplier_invoice,date,order,line,quantity,unit_price,vat_rate\n"
    path.write_text(header + "I-1,S-100,2026-05-04,PO-1,1,2,2.50,21\n", encoding="utf-8")
    assert shop.cli("import", "invoices", str(path)).exit_code == 0
    before = tables(shop)
    rows = "".join(f"I-{n},S-{100 + n},2026-05-04,PO-{n},1,2,2.50,21\n" for n in range(2, 5))
    path.write_text(header + rows + "I-9,S-100,2026-05-04,PO-5,1,2,2.50,21\n", encoding="utf-8")
    result = shop.cli("import", "invoices", str(path))
    assert result.exit_code == 1
    assert result.stderr == (f"pledger: {path}: row 5, column supplier_invoice: the supplier's invoice S-100 "
                             "was already imported (as I-1)\n")
    assert tables(shop) == before


def _two_suppliers_invoiced(s):
    """ACME's invoice S-I-A (ours I-A) and BETA's S-I-B (I-B); their ids, and four pairs to ask
    for: two known, one taken by the other supplier, one new."""
    from sqlalchemy import select

    from purchase.models import Supplier
    from tests.builders import invoice

    supplier(s)
    supplier(s, "BETA", "Beta BV")
    item(s)
    order(s, "PO-A", ("BOLT", 10, "2.50"))
    order(s, "PO-B", ("BOLT", 10, "2.50"), supplier_code="BETA")
    invoice(s, "PO-A", 1, 2, number="I-A")
    invoice(s, "PO-B", 1, 2, number="I-B")
    acme, beta = (s.scalar(select(Supplier.id).where(Supplier.code == c)) for c in ("ACME", "BETA"))
    return acme, beta, [(acme, "S-I-A"), (acme, "S-I-B"), (beta, "S-I-B"), (beta, "S-NEW")]


def test_known_supplier_invoices_are_looked_up_through_the_unique_index(books):
    """One probe of (supplier, supplier invoice) per pair, never a scan of every invoice
    (measured: a scan per 500 numbers slowed a year's invoice import as the table grew)."""
    from purchase.documents import known_supplier_invoices

    with books.session() as s:
        acme, beta, asked = _two_suppliers_invoiced(s)
        assert known_supplier_invoices(s, asked) == {(acme, "S-I-A"): "I-A", (beta, "S-I-B"): "I-B"}
        # asked crosswise, both numbers are taken, but by the other supplier: neither pair is known
        assert known_supplier_invoices(s, [(acme, "S-I-B"), (beta, "S-I-A")]) == {}

        statements = []
        from sqlalchemy import event

        def seen(conn, cursor, statement, parameters, context, executemany):
            if "invoices" in statement:
                statements.append((statement, parameters))

        event.listen(s.get_bind(), "before_cursor_execute", seen)
        try:
            known_supplier_invoices(s, asked)
        finally:
            event.remove(s.get_bind(), "before_cursor_execute", seen)
        (statement, parameters), = statements
        if books.dialect == "sqlite":
            plan = [row[-1] for row in s.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]
            assert not any(step.startswith("SCAN invoices") for step in plan), plan
            assert any("USING INDEX" in step for step in plan), plan
        else:
            s.connection().exec_driver_sql("SET LOCAL enable_seqscan = off")  # a seq scan only where no index serves
            plan = [row[0] for row in s.connection().exec_driver_sql(f"EXPLAIN {statement}", parameters)]
            probes = [step for step in plan if "Index Cond" in step]  # the whole index read is no better than a scan
            assert not any("Seq Scan on invoices" in step for step in plan), plan
            assert probes and all("supplier_id =" in step and "supplier_invoice" in step for step in probes), plan


def test_known_supplier_invoices_without_sqlite_json_functions(books, monkeypatch):
    """A SQLite without json_each asks the same question as an OR of index probes."""
    import ledger.db
    from purchase.documents import known_supplier_invoices

    with books.session() as s:
        acme, beta, asked = _two_suppliers_invoiced(s)
        with_json = known_supplier_invoices(s, asked)
        monkeypatch.setattr(ledger.db, "_HAS_JSON_EACH", False)
        assert known_supplier_invoices(s, asked) == with_json == {(acme, "S-I-A"): "I-A", (beta, "S-I-B"): "I-B"}


def _quantity_the_long_way(value: str):
    """What `csvfile.quantity` gave before its fast path: `decimal`, then the scale check."""
    try:
        number = csvfile.decimal.__wrapped__(value)
    except ValueError as exc:
        return "refused", str(exc)
    if not csvfile.fits(number, csvfile.QUANTITY_SCALE):
        return "refused", f"has more than {csvfile.QUANTITY_SCALE} decimals"
    return "read", number.as_tuple()


@given(st.one_of(
    st.from_regex(r"\A[0-9]{1,14}(\.[0-9]{0,8})?\Z"),  # plain, and too long or too fine
    st.text(alphabet="0123456789.,+-eE ", min_size=1, max_size=16),
))
@example("1.")
@example("007")
@example("999999999999.999999")
@example("1000000000000")
@example("0.1234567")
def test_a_quantity_cell_reads_as_it_did_the_long_way(value):
    """The fast path for plain quantities gives the same Decimal (digits and exponent) and
    refuses what the long way refuses, with the same words."""
    try:
        ours = "read", csvfile.quantity.__wrapped__(value).as_tuple()
    except ValueError as exc:
        ours = "refused", str(exc)
    assert ours == _quantity_the_long_way(value)
