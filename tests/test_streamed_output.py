"""Output written as a stream is the output written whole: the posting report's JSON and
text tables, read back from disk a chunk at a time, and the spill that keeps them."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from unittest import mock

from sqlalchemy import text

import ledger.spill
from cli.formats import Column, Table, text_blocks
from cli.output import dumps, json_chunks
from ledger.spill import Mapped, Spill, sorted_spill

TEXT = st.text(alphabet=st.sampled_from(list("ab -=\n\t é€ßZ9.") + ["漢"]), max_size=12)
AMOUNT = st.decimals(min_value=Decimal("-99999.99"), max_value=Decimal("99999.99"), places=2)


@st.composite
def tables(draw):
    kinds = draw(st.lists(st.sampled_from(["text", "amount", "int"]), min_size=1, max_size=5))
    columns = [Column(f"c{i}", draw(st.text(alphabet="abc xy", min_size=1, max_size=8)), kind) for i, kind in enumerate(kinds)]
    value = {"text": st.one_of(st.none(), TEXT), "amount": st.one_of(st.none(), AMOUNT), "int": st.integers(-10**6, 10**6)}
    rows = draw(st.lists(st.fixed_dictionaries({c.key: value[c.kind] for c in columns}), max_size=14))
    totals = draw(st.one_of(st.none(), st.fixed_dictionaries({c.key: value[c.kind] for c in columns if c.kind != "text"})))
    return Table(title="t", columns=columns, rows=rows, totals=totals)


def spilled(rows: list, chunk: int) -> Spill:
    spill = Spill(chunk=chunk)
    for row in rows:
        spill.append(row)
    return spill


@settings(max_examples=300, deadline=None)
@given(tables(), st.integers(1, 5), st.integers(1, 4))
def test_a_long_table_in_blocks_reads_as_tabulate_lays_out_the_whole(table, block, chunk):
    whole = "\n".join(text_blocks(table, block=10**6))
    streamed = Table(title=table.title, columns=table.columns, rows=spilled(table.rows, chunk), totals=table.totals)
    assert "\n".join(text_blocks(streamed, block=block)) == whole


def test_blocks_are_laid_out_a_block_at_a_time():
    table = Table(title="t", columns=[Column("a", "a"), Column("n", "amount", "amount")],
                  rows=[{"a": "x" * (i % 7), "n": Decimal(i)} for i in range(25)], totals={"n": Decimal(300)})
    pieces = list(text_blocks(table, block=10))
    assert len(pieces) == 3
    # "a" is as wide as its widest cell (6), "amount" as its header and two (8)
    assert pieces[0].split("\n")[:2] == ["a" + " " * 9 + "amount", "------  --------"]
    assert pieces[2].split("\n")[-2:] == ["------  --------", "Total" + " " * 8 + "300"]
    assert len(pieces[1].split("\n")) == 10


JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5))
JSON = st.recursive(JSON_LEAF, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                         st.dictionaries(st.text(max_size=4), inner, max_size=4)), max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=4), JSON, max_size=4), st.lists(JSON, max_size=9),
       st.lists(st.dictionaries(st.text(max_size=4), JSON, max_size=3), max_size=5), st.integers(1, 4))
def test_json_written_in_pieces_is_json_dumps_of_the_whole(head, items, more, chunk):
    """A report's shape: objects holding kept collections, inside a list (several undos)."""
    lazy = [{**head, "lines": spilled(items, chunk), "more": [1, {"x": spilled(more, chunk)}]}, {}, []]
    whole = [{**head, "lines": items, "more": [1, {"x": more}]}, {}, []]
    assert "".join(json_chunks(lazy)) == dumps(whole)
    assert "".join(json_chunks(lazy[0], indent=1)) == json.dumps(whole[0], indent=1, ensure_ascii=False)


def test_a_spill_gives_back_every_item_in_order_from_memory_and_disk():
    spill = spilled([{"n": i} for i in range(10_005)], 1000)
    assert spill._file is not None  # ten chunks went to the file, five items are in memory
    assert [x["n"] for x in spill] == list(range(10_005))
    assert [x["n"] for x in spill] == list(range(10_005))  # read again
    spill.close()
    assert len(spill) == 0 and list(spill) == []


def test_a_mapped_spill_shows_each_kept_item_as_it_is_read_and_streams_as_a_list():
    """How a posting report keeps tuples of stored integers and shows the JSON's dicts."""
    kept = spilled([(i, i * 25) for i in range(2_503)], 1000)
    shown = Mapped(kept, lambda item: {"n": item[0], "amount": f"{item[1] / 100:.2f}"})
    assert len(shown) == 2_503 and shown and not Mapped(Spill(), str)
    assert list(shown)[:2] == [{"n": 0, "amount": "0.00"}, {"n": 1, "amount": "0.25"}]
    assert list(shown) == list(shown)  # read again, from the file and from memory
    assert "".join(json_chunks({"lines": shown})) == dumps({"lines": list(shown)})


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(-3, 3), st.text(alphabet="ab", max_size=2))), st.integers(1, 6),
       st.integers(1, 7), st.integers(1, 3))
def test_a_spill_sorted_in_runs_is_sorted(items, run, chunk, runs_per_chunk):
    """Equal keys (few values: many ties) keep their input order, as `sorted` keeps them."""
    tagged = [(key, text, n) for n, (key, text) in enumerate(items)]
    by_key = lambda item: item[:2]  # noqa: E731  (n, the input order, is not part of the key)
    with mock.patch.object(ledger.spill, "CHUNK", chunk), mock.patch.object(ledger.spill, "RUN", runs_per_chunk):
        result = sorted_spill(iter(tagged), key=by_key, run=run)
        assert list(result) == sorted(tagged, key=by_key)
        assert list(result) == sorted(tagged, key=by_key)  # read again
        assert len(result) == len(tagged)
        # by default a run is RUN chunks
        assert list(sorted_spill(tagged, key=by_key)) == sorted(tagged, key=by_key)


def test_a_long_sort_merges_runs_read_a_piece_at_a_time():
    items = [(n * 7919) % 10_007 for n in range(10_007)]
    reads = []
    read = Spill._read
    with mock.patch.object(Spill, "_read", lambda self, i: (reads.append(i), read(self, i))[1]):
        result = sorted_spill(items, key=lambda n: -n, run=1000)
    assert list(result) == sorted(items, reverse=True)
    # 10 runs of 1000 items and one of 7, in pieces of 200 items (CHUNK // RUN), each piece read once
    assert sorted(reads) == list(range(10 * 5 + 1))
    assert result._file is not None  # the result is kept on disk too


# -- through the CLI: a report kept on disk reads as one kept in memory ----------------------


def _book_of_twelve_orders(books):
    from tests.builders import invoice, item, order, receive, supplier

    with books.session() as s:
        supplier(s)
        supplier(s, "BETA", "Beta BV")
        item(s)
        for n in range(12):
            order(s, f"PO-{n:02d}", ("BOLT", 10, "12.3456"), ("BOLT", 3, "0.10"), supplier_code="ACME" if n % 3 else "BETA")
            receive(s, f"PO-{n:02d}", 1, 7 + n % 3)
            invoice(s, f"PO-{n:02d}", 1, 5 + n % 4)
            if n % 2:
                invoice(s, f"PO-{n:02d}", 2, 2)


def _every_output(books, tmp_path, tag: str) -> dict:
    run = ("closeout", "run", "--close-fully", "--trial", "--date", "2026-06-30")
    out = {}
    for fmt in ("json", "table", "csv"):
        result = books.cli(*run, "--format", fmt)
        assert result.exit_code == 0, result.output
        out[fmt] = result.stdout
    for suffix in ("json", "csv", "xlsx", "pdf"):
        path = tmp_path / f"{tag}.{suffix}"
        result = books.cli(*run, "--format", "csv", "--report", str(path))
        assert result.exit_code == 0, result.output
        out[suffix] = _shown(path)
    saved = tmp_path / f"{tag}.trial"
    assert books.cli(*run, "--save", str(saved)).exit_code == 0
    out["trial"] = saved.read_text()
    return out


def _shown(path):
    """A written file's bytes; of an XLSX (whose file holds the time it was written), what it shows."""
    import openpyxl

    if path.suffix == ".xlsx":
        return [list(sheet.iter_rows(values_only=True)) for sheet in openpyxl.load_workbook(path).worksheets]
    return path.read_bytes()


def test_the_cli_writes_a_report_kept_on_disk_as_one_kept_in_memory(books, tmp_path, monkeypatch):
    import cli.formats
    import ledger.spill

    _book_of_twelve_orders(books)
    monkeypatch.setattr(cli.formats, "_PDF_LONG_TABLE", 5)  # both ways lay the PDF out page by page
    whole = _every_output(books, tmp_path, "whole")
    written = []
    write_buffer = ledger.spill.Spill._write_buffer
    monkeypatch.setattr(ledger.spill.Spill, "_write_buffer", lambda self: (written.append(1), write_buffer(self)))
    monkeypatch.setattr(ledger.spill, "CHUNK", 3)  # 3 lines or entries a chunk: nearly all on disk
    monkeypatch.setattr(cli.formats, "TEXT_BLOCK", 4)  # tables laid out 4 rows at a time
    streamed = _every_output(books, tmp_path, "streamed")
    assert len(written) > 10 * 8  # every run kept its report on disk
    assert streamed == whole
    report = json.loads(whole["json"])
    assert len(report["lines"]) == 24 and report["totals"]["balanced"]
    assert whole["table"].count("\n") > 24 + 40  # the three tables, their rows and totals


def test_a_committed_trial_kept_on_disk_commits(books, tmp_path, monkeypatch):
    import ledger.spill

    _book_of_twelve_orders(books)
    monkeypatch.setattr(ledger.spill, "CHUNK", 3)
    saved = tmp_path / "trial.jsonl"
    run = ("closeout", "run", "--format", "json")
    trial = books.cli(*run, "--close-fully", "--trial", "--date", "2026-06-30", "--save", str(saved))
    real = books.cli(*run, "--from-trial", str(saved))
    assert trial.exit_code == 0 and real.exit_code == 0, real.output
    trial, real = json.loads(trial.stdout), json.loads(real.stdout)
    assert real["closeout"] == 1 and real["lines"] == trial["lines"] and len(real["lines"]) == 24
    assert [{**e, "number": None} for e in real["entries"]] == trial["entries"]


# -- report grir and report backorders, kept on disk and in memory ---------------------------

REPORTS = [("grir",), ("grir", "--as-of", "2026-05-10"), ("grir", "--as-of", "2026-05-01"),
           *[("backorders", "--sort", sort) for sort in ("item", "supplier", "order", "date", "amount")],
           ("backorders", "--supplier", "BETA", "--sort", "amount"), ("backorders", "--supplier", "ZZZ")]


def _every_report_output(books, tmp_path, tag: str) -> dict:
    out = {}
    for n, args in enumerate(REPORTS):
        for fmt in ("json", "table", "csv"):
            result = books.cli("report", *args, "--format", fmt)
            assert result.exit_code == 0, result.output
            out[args, fmt] = result.stdout
        for suffix in ("csv", "xlsx", "pdf"):
            path = tmp_path / f"{tag}-{n}.{suffix}"
            result = books.cli("report", *args, "-o", str(path))
            assert result.exit_code == 0, result.output
            out[args, suffix] = (result.stdout.replace(tag, ""), _shown(path))
    return out


def test_the_grir_and_backorder_reports_kept_on_disk_read_as_kept_in_memory(books, tmp_path, monkeypatch):
    import cli.formats
    from purchase.orders import get_order
    from tests.builders import receive

    _book_of_twelve_orders(books)
    with books.session() as s:
        for n in range(0, 12, 4):
            receive(s, f"PO-{n:02d}", 2, 1, date=dt.date(2026, 5, 20))
            get_order(s, f"PO-{n + 1:02d}").lines[1].expected_date = dt.date(2026, 7, n + 1)
    monkeypatch.setattr(cli.formats, "_PDF_LONG_TABLE", 5)  # both ways lay the PDF out page by page
    whole = _every_report_output(books, tmp_path, "whole")
    written = []
    write_buffer = ledger.spill.Spill._write_buffer
    monkeypatch.setattr(ledger.spill.Spill, "_write_buffer", lambda self: (written.append(1), write_buffer(self)))
    monkeypatch.setattr(ledger.spill, "CHUNK", 3)  # 3 rows a chunk: nearly all on disk
    monkeypatch.setattr(ledger.spill, "RUN", 1)  # sorted by amount in runs of 3 rows
    monkeypatch.setattr(cli.formats, "TEXT_BLOCK", 4)  # tables laid out 4 rows at a time
    streamed = _every_report_output(books, tmp_path, "streamed")
    assert len(written) > len(REPORTS) * 6 * 3  # every run kept its rows on disk
    assert streamed == whole
    grir = json.loads(whole[("grir",), "json"])
    assert len(grir["rows"]) == 19 and grir["ties"] and grir["totals"] == {"gr_balance": "234.86", "ir_balance": "13.54"}
    assert len(json.loads(whole[("grir", "--as-of", "2026-05-01"), "json"])["rows"]) == 0
    by_amount = [(r["order"], r["line"], r["backorder_amount"]) for r in json.loads(whole[("backorders", "--sort", "amount"), "json"])]
    assert len(by_amount) == 24
    assert by_amount[:5] == [("PO-00", 1, "37.04"), ("PO-03", 1, "37.04"), ("PO-06", 1, "37.04"), ("PO-09", 1, "37.04"),
                             ("PO-01", 1, "24.70")]  # ties by order and line; 2 of 10 at 12.3456 with 8 received:
    # what receiving them posts, value(10) - value(8) = 123.46 - 98.76 (value(2) = 24.69: audit of 7 December 2026, tieout)
    assert by_amount[-4:] == [("PO-11", 2, "0.30"), ("PO-00", 2, "0.20"), ("PO-04", 2, "0.20"), ("PO-08", 2, "0.20")]
    assert "24 lines" in whole[("backorders", "--sort", "item"), "table"]
    # nothing in backorder: the CSV still ends with its Total row (a script drops the last row), 0.00 in the books' currency
    assert whole[("backorders", "--supplier", "ZZZ"), "csv"][1].decode("utf-8-sig").splitlines()[1:] == ["Total,,,,,,,,,,,,0.00"]
    assert "0 lines; open on" in whole[("backorders", "--supplier", "ZZZ"), "table"]
    assert "; amounts in EUR" in whole[("backorders", "--supplier", "ZZZ"), "table"]
    # the PDF keeps the expected date where a line has one, and drops the column where none has
    assert "expected" in _pdf_text(whole[("backorders", "--sort", "item"), "pdf"][1])
    assert "expected" not in _pdf_text(whole[("backorders", "--supplier", "ZZZ"), "pdf"][1])


def _pdf_text(pdf: bytes) -> str:
    import io

    import pypdf

    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=6), st.integers(-10**20, 10**20), st.none(),
                          st.lists(st.tuples(st.integers(), st.one_of(st.none(), st.text(max_size=3))), max_size=3)),
                max_size=40),
       st.integers(1, 7), st.integers(0, 40))
def test_a_plain_spill_written_by_marshal_reads_back_as_a_pickled_one(items, chunk, split):
    # the posting report keeps plain tuples (texts, whole numbers, None, lists): marshal writes them
    pickled, plain = Spill(chunk=chunk), Spill(chunk=chunk, plain=True)
    for spill in (pickled, plain):
        spill.extend(items[:split])  # in bulk and one at a time, chunked alike
        for item in items[split:]:
            spill.append(item)
    assert list(plain) == list(pickled) == items
    assert list(plain) == items and len(plain) == len(items)  # read again
    assert len(plain._offsets) == len(pickled._offsets) == len(items) // chunk


def test_a_plain_spill_refuses_what_marshal_cannot_write():
    spill = Spill(chunk=1, plain=True)
    with pytest.raises(ValueError, match="unmarshallable"):
        spill.append(("a date", dt.date(2026, 12, 31)))


# -- po list and journal show: as long as the book, kept on disk ----------------------------


def _every_list_output(books, lists) -> dict:
    out = {}
    for args in lists:
        for fmt in ("json", "table", "csv"):
            result = books.cli(*args, "--format", fmt)
            assert result.exit_code == 0, result.output
            out[args, fmt] = result.stdout
    return out


def _kept_on_disk_and_in_memory(books, monkeypatch, lists) -> tuple[dict, int]:
    """Every output of `lists` as printed, then with rows kept 3 to a chunk (nearly all on
    disk): both, and how many chunks went to disk."""
    import cli.formats

    _book_of_twelve_orders(books)
    books.cli("closeout", "run", "--close-fully", "--order", "PO-00..PO-03", "--date", "2026-06-30")
    whole = _every_list_output(books, lists)
    written = []
    write_buffer = ledger.spill.Spill._write_buffer
    monkeypatch.setattr(ledger.spill.Spill, "_write_buffer", lambda self: (written.append(1), write_buffer(self)))
    monkeypatch.setattr(ledger.spill, "CHUNK", 3)
    monkeypatch.setattr(cli.formats, "TEXT_BLOCK", 4)  # tables laid out 4 rows at a time
    streamed = _every_list_output(books, lists)
    assert streamed == whole
    return whole, len(written)


def test_the_order_list_is_kept_on_disk_and_reads_as_kept_in_memory(books, monkeypatch):
    """`po list` has a row per order: a book of years holds hundreds of thousands, which were
    held in memory whole, twice (the list, then a dict per row: 1,000,000 lines in 200,000
    orders peaked at about 400 MB). They are kept in a spill as they are read."""
    lists = [("po", "list"), ("po", "list", "--open"), ("po", "list", "--supplier", "BETA"), ("po", "list", "--status", "closed")]
    whole, written = _kept_on_disk_and_in_memory(books, monkeypatch, lists)
    assert written >= 3 * (12 // 3)  # po list's 12 orders went to disk, in each format
    orders = json.loads(whole[("po", "list"), "json"])
    assert [o["order"] for o in orders] == [f"PO-{n:02d}" for n in range(12)]
    assert [o["open_lines"] for o in orders][:5] == [0, 0, 0, 0, 2]  # closed out: PO-00 to PO-03
    assert [o["order"] for o in json.loads(whole[("po", "list", "--status", "closed"), "json"])] == ["PO-00", "PO-01", "PO-02", "PO-03"]


def test_a_journal_is_kept_on_disk_and_reads_as_kept_in_memory(books, monkeypatch):
    """`journal show` has a row per journal line: the purchase journal of a 1,000,000-line
    book holds millions, which were read as ORM entries and lines and held in memory whole
    (100,000 lines: 590 MB and 39 s). Its columns are read, kept in a spill as they come."""
    lists = [("journal", "show", "PUR"), ("journal", "show", "REC", "--year", "2026"), ("journal", "show", "MEM")]
    whole, written = _kept_on_disk_and_in_memory(books, monkeypatch, lists)
    assert written >= 3 * (55 // 3)  # the purchase journal's 55 lines went to disk, in each format
    purchases = json.loads(whole[("journal", "show", "PUR"), "json"])
    with books.session() as s:
        lines = s.execute(text("select count(*) from entry_lines l join entries e on e.id = l.entry_id "
                               "join journals j on j.id = e.journal_id where j.code = 'PUR'")).scalar()
    assert len(purchases) == lines == 55  # 18 invoices, each with its creditors and VAT lines
    assert sum(Decimal(x["debit"]) for x in purchases) == sum(Decimal(x["credit"]) for x in purchases)
    assert [(x["number"], x["account"]) for x in purchases[:2]] == [(1, purchases[0]["account"]), (1, purchases[1]["account"])]
    assert json.loads(whole[("journal", "show", "MEM"), "json"])[0]["document"] == "closeout 1"
