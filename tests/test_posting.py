"""The posting service: what it refuses, and that what it accepts is numbered gapless."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, select

from ledger.check import check_ledger
from ledger.errors import PeriodError, PostingError
from ledger.models import Entry, EntryLine, JournalCounter
from ledger.periods import set_locked
from ledger.posting import EntrySpec, LineSpec, Poster, StoredLine
from ledger.reports import trial_balance

DAY = dt.date(2026, 3, 15)


def entry(*lines, journal="MEM", date=DAY):
    return EntrySpec(journal, date, list(lines), description="test")


def dr(account, amount, **dims):
    return LineSpec(account, debit=Decimal(amount), **dims)


def cr(account, amount, **dims):
    return LineSpec(account, credit=Decimal(amount), **dims)


def counts(books):
    with books.session() as s:
        return (s.scalar(select(func.count()).select_from(Entry)), s.scalar(select(func.count()).select_from(EntryLine)))


def test_a_balanced_entry_is_posted_with_number_one_and_its_dimensions(books):
    with books.session() as s:
        [posted] = Poster(s, "ann").post([entry(dr("340000", "1000.00", order_line_id=7, partner_id=3, document="R1", quantity=Decimal(10)), cr("444000", "1000.00"))])
    assert posted.number == 1
    with books.session() as s:
        line = s.scalars(select(EntryLine).order_by(EntryLine.line_no)).first()
        assert (line.debit, line.order_line_id, line.partner_id, line.document, line.quantity) == (Decimal("1000.00"), 7, 3, "R1", Decimal(10))
        assert line.currency == "EUR" and line.rate == 1 and line.amount_currency == Decimal("1000.00")


@pytest.mark.parametrize(
    "lines, message",
    [
        ([dr("340000", "100.00"), cr("444000", "99.99")], "does not balance: debit 100.00 and credit 99.99 differ by 0.01"),
        ([dr("340000", "0")], "needs two lines or more"),
        ([dr("340000", "0"), cr("444000", "0")], "a line of zero posts nothing"),
        ([dr("340000", "0.001"), cr("444000", "0.001")], "finer than the EUR minor unit"),
        ([dr("340000", "10.00"), cr("444000", "5.005"), cr("444000", "4.995")], "line 2: 5.005 is finer than the EUR minor unit"),
        ([dr("340000", "-5"), cr("444000", "-5")], "must not be negative"),
        ([LineSpec("340000", debit=Decimal(1), credit=Decimal(1)), cr("444000", "0")], "a debit or a credit, not both"),
        ([dr("999999", "1"), cr("444000", "1")], "unknown account '999999'"),
    ],
)
def test_the_service_refuses_and_writes_nothing(books, lines, message):
    with books.session() as s:
        with pytest.raises(PostingError, match=message):
            Poster(s, "ann").post([entry(*lines)])
    assert counts(books) == (0, 0)


def test_a_date_outside_every_fiscal_year_is_refused(books):
    with books.session() as s:
        with pytest.raises(PeriodError, match="outside every fiscal year"):
            Poster(s, "ann").post([entry(dr("340000", "1"), cr("444000", "1"), date=dt.date(1999, 1, 1))])


def test_a_locked_period_takes_no_posting(books):
    with books.session() as s:
        set_locked(s, 2026, 3, True, user="ann")
    with books.session() as s:
        with pytest.raises(PeriodError, match="period 2026-03 is locked"):
            Poster(s, "ann").post([entry(dr("340000", "1"), cr("444000", "1"))])
    assert counts(books) == (0, 0)


def test_one_refused_entry_refuses_the_whole_batch(books):
    with books.session() as s:
        with pytest.raises(PostingError):
            Poster(s, "ann").post([entry(dr("340000", "1"), cr("444000", "1")), entry(dr("340000", "1"), cr("444000", "2"))])
    assert counts(books) == (0, 0)


def test_a_rolled_back_transaction_takes_no_number(books):
    with books.maker() as s:
        Poster(s, "ann").post([entry(dr("340000", "1"), cr("444000", "1"))])
        s.rollback()
    with books.session() as s:
        [posted] = Poster(s, "ann").post([entry(dr("340000", "1"), cr("444000", "1"))])
    assert posted.number == 1


def test_numbers_are_per_journal_and_fiscal_year(books):
    with books.session() as s:
        from ledger.periods import open_year

        open_year(s, 2027)
    with books.session() as s:
        posted = Poster(s, "ann").post([
            entry(dr("340000", "1"), cr("444000", "1"), journal="MEM"),
            entry(dr("340000", "1"), cr("444000", "1"), journal="REC"),
            entry(dr("340000", "1"), cr("444000", "1"), journal="MEM"),
            entry(dr("340000", "1"), cr("444000", "1"), journal="MEM", date=dt.date(2027, 1, 2)),
        ])
    assert [(p.journal, p.number) for p in posted] == [("MEM", 1), ("REC", 1), ("MEM", 2), ("MEM", 1)]
    with books.session() as s:
        assert check_ledger(s) == []


ACCOUNTS = ["340000", "444000", "499100", "440000", "411000", "604500"]
cents = st.integers(min_value=1, max_value=10**9).map(lambda c: Decimal(c).scaleb(-2))


@st.composite
def entries(draw):
    """A random entry: balanced, or off by a random non-zero amount."""
    debits = draw(st.lists(cents, min_size=1, max_size=4))
    n_credit = draw(st.integers(min_value=1, max_value=4))
    total = sum(debits)
    if total < Decimal("0.01") * n_credit:
        n_credit = 1
    from ledger.money import allocate

    credits = [c for c in allocate(total, [Decimal(1)] * n_credit, "EUR")]
    balanced = draw(st.booleans())
    if not balanced:
        credits[0] += draw(st.sampled_from([Decimal("0.01"), Decimal("-0.01"), Decimal("1.00"), Decimal("0.99")]))
    if any(c <= 0 for c in credits):
        balanced = True
        credits = allocate(total, [Decimal(1)] * n_credit, "EUR")
    lines = [dr(draw(st.sampled_from(ACCOUNTS)), d) for d in debits] + [cr(draw(st.sampled_from(ACCOUNTS)), c) for c in credits]
    journal = draw(st.sampled_from(["MEM", "REC", "PUR"]))
    day = dt.date(2026, draw(st.integers(1, 12)), draw(st.integers(1, 28)))
    return balanced, EntrySpec(journal, day, lines)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(entries(), min_size=1, max_size=12))
def test_property_balanced_entries_land_gapless_and_unbalanced_ones_leave_nothing(books, batch):
    with books.session() as s:
        before = {j: n for j, n in s.execute(select(JournalCounter.journal_id, JournalCounter.last_number))}
        entries_before = s.scalar(select(func.count()).select_from(Entry))
    accepted = 0
    for balanced, spec in batch:
        with books.maker() as s:
            if balanced:
                Poster(s, "prop").post([spec])
                s.commit()
                accepted += 1
            else:
                with pytest.raises(PostingError, match="does not balance"):
                    Poster(s, "prop").post([spec])
                s.rollback()
    with books.session() as s:
        assert s.scalar(select(func.count()).select_from(Entry)) == entries_before + accepted
        assert check_ledger(s) == []  # gapless numbers, balanced, intact chain
        balances = trial_balance(s)
        assert sum((b.balance for b in balances), Decimal(0)) == 0
        numbers = s.execute(select(Entry.journal_id, Entry.number).order_by(Entry.journal_id, Entry.number)).all()
        per_journal = {}
        for j, n in numbers:
            per_journal.setdefault(j, []).append(n)
        for j, ns in per_journal.items():
            assert ns == list(range(1, len(ns) + 1))


# -- the stored form: lines whose amounts are already the stored integers (x 10^4) ----------


def sdr(account, amount, **dims):
    return StoredLine(account, debit=amount, **dims)


def scr(account, amount, **dims):
    return StoredLine(account, credit=amount, **dims)


@pytest.mark.parametrize(
    "lines, message",
    [
        ([sdr("340000", 1_000_000), scr("444000", 999_900)], "does not balance: debit 100 and credit 99.99 differ by 0.01"),
        ([sdr("340000", 0), scr("444000", 0)], "a line of zero posts nothing"),
        ([sdr("340000", 10), scr("444000", 10)], "0.001 is finer than the EUR minor unit 0.01"),
        ([sdr("340000", 100_000), scr("444000", 50_050), scr("444000", 49_950)], "line 2: 5.005 is finer than the EUR minor unit"),
        ([sdr("340000", -500), scr("444000", -500)], "must not be negative"),
        ([StoredLine("340000", 100, 100), scr("444000", 0)], "a debit or a credit, not both"),
        ([sdr("999999", 100), scr("444000", 100)], "unknown account '999999'"),
        ([sdr("340000", Decimal(100)), scr("444000", 100)], "a stored amount is an integer"),
        ([sdr("340000", True), scr("444000", 1)], "a stored amount is an integer"),
        ([sdr("340000", 100), cr("444000", "0.01")], "line 2: an entry's lines are all Decimals or all stored integers"),
        ([dr("340000", "0.01"), scr("444000", 100)], "line 2: an entry's lines are all Decimals or all stored integers"),
    ],
)
def test_stored_lines_are_refused_as_decimal_ones_are(books, lines, message):
    with books.session() as s:
        with pytest.raises(PostingError, match=message):
            Poster(s, "ann").post([entry(*lines)])
    assert counts(books) == (0, 0)


def _rows(books):
    with books.session() as s:
        heads = s.execute(select(Entry.number, Entry.hash, Entry.prev_hash).order_by(Entry.id)).all()
        lines = s.execute(select(EntryLine.line_no, EntryLine.account_id, EntryLine.debit, EntryLine.credit, EntryLine.currency,
                                 EntryLine.amount_currency, EntryLine.rate, EntryLine.partner_id, EntryLine.order_line_id,
                                 EntryLine.document, EntryLine.quantity).order_by(EntryLine.id)).all()
    return heads, lines


def test_stored_lines_post_the_rows_and_hashes_decimal_lines_do(templates, db_kind):
    """The same entries posted both ways (one fixed posting time) leave the same rows, hash chain included."""
    from tests.conftest import Books

    now = dt.datetime(2026, 3, 15, 12, 0, 0)
    decimal_entries = [
        entry(dr("340000", "1234.56", partner_id=3, order_line_id=7, document="R1", quantity=Decimal("2.5")),
              cr("444000", "1234.50"), cr("444000", "0.06", order_line_id=7)),
        entry(dr("444000", "0.01"), cr("340000", "0.01", quantity=Decimal("0.000001"))),
    ]
    stored_entries = [
        entry(sdr("340000", 12_345_600, partner_id=3, order_line_id=7, document="R1", quantity=2_500_000),
              scr("444000", 12_345_000), scr("444000", 600, order_line_id=7)),
        entry(sdr("444000", 100), scr("340000", 100, quantity=1)),
    ]
    found = {}
    for name, entries in (("decimals", decimal_entries), ("stored", stored_entries)):
        books = Books(url=templates.sqlite() if db_kind == "sqlite" else templates.postgresql(), dialect=db_kind)
        with books.session() as s:
            Poster(s, "ann", now=now).post(entries)
        found[name] = _rows(books)
        with books.session() as s:
            assert check_ledger(s) == []
        books.engine.dispose()
    assert found["stored"] == found["decimals"]
    assert found["stored"][1][0][2:4] == (Decimal("1234.56"), Decimal(0))


def test_a_poster_holding_its_counters_numbers_batch_after_batch_as_one_that_reads_them_each_time(templates, db_kind):
    """A close-out posts a chunk at a time in one transaction; its poster keeps the counters
    it locked (`hold_counters`) and reads them once. The rows, hash chain included, are
    those of a poster that reads them for every batch; `number` writes nothing, `write` does."""
    from sqlalchemy import event

    from tests.conftest import Books

    now = dt.datetime(2026, 3, 15, 12, 0, 0)
    batches = [[entry(dr("340000", f"{n}.25"), cr("444000", f"{n}.25")), entry(dr("444000", "3"), cr("340000", "3"), journal="PUR")]
               for n in range(1, 5)]
    found = {}
    for hold in (True, False):
        books = Books(url=templates.sqlite() if db_kind == "sqlite" else templates.postgresql(), dialect=db_kind)
        reads = []
        listen = lambda conn, cursor, statement, *args: reads.append(statement) if "FROM journal_counters" in statement else None
        event.listen(books.engine, "before_cursor_execute", listen)
        with books.session() as s:
            poster = Poster(s, "ann", now=now, hold_counters=hold)
            for batch in batches:
                before = s.scalar(select(func.count()).select_from(Entry))
                numbered = poster.number(batch)
                assert s.scalar(select(func.count()).select_from(Entry)) == before
                posted = poster.write(numbered)
                assert [p.number for p in posted] == [h["number"] for h in numbered.heads]
        event.remove(books.engine, "before_cursor_execute", listen)
        assert len(reads) == (2 if hold else 2 * len(batches))  # per journal once, or per journal and batch
        found[hold] = _rows(books)
        with books.session() as s:
            assert check_ledger(s) == []
            assert s.execute(select(JournalCounter.last_number).order_by(JournalCounter.journal_id)
                             .where(JournalCounter.last_number > 0)).scalars().all() == [4, 4]
        books.engine.dispose()
    assert found[True] == found[False]


_maybe = lambda s: st.none() | s  # noqa: E731
_hashed_line = st.tuples(st.integers(1, 99), st.integers(1, 10**6), st.integers(0, 10**15), st.integers(0, 10**15),
                         st.sampled_from(["EUR", "USD"]), st.integers(-10**15, 10**15), st.integers(1, 10**12),
                         _maybe(st.integers(1, 10**6)), _maybe(st.integers(1, 10**6)), _maybe(st.text(max_size=12)),
                         _maybe(st.integers(-10**12, 10**12)))


@given(st.lists(_hashed_line, max_size=6), st.integers(1, 10**6))
def test_an_entry_hash_is_of_its_lines_values_joined_by_bars_none_as_nothing_wherever_the_values_start(lines, entry_id):
    """The hash `check` recomputes (lines from position 0) and the one a poster takes of its
    rows (the entry's id first, `first=1`) are both of the documented text."""
    import hashlib

    from ledger.posting import entry_hash_of_values

    head = {"journal_id": 3, "fiscal_year_id": 2, "number": 41, "entry_date": dt.date(2026, 12, 31), "description": "close-out 7",
            "source": "closeout", "user_name": "anna", "posted_at": dt.datetime(2026, 12, 5, 1, 2, 3, 4)}
    text = "\n".join(["prev", "3", "2", "41", "2026-12-31", "close-out 7", "closeout", "anna", "2026-12-05T01:02:03.000004",
                      *("|".join("" if v is None else str(v) for v in line) for line in lines)])
    expected = hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert entry_hash_of_values("prev", head, lines) == expected
    assert entry_hash_of_values("prev", head, [(entry_id, *line) for line in lines], first=1) == expected
