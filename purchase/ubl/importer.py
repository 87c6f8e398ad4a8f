"""Importing Peppol BIS 3 invoices and credit notes: match each line to an order line, post.

Nothing here knows the CLI: `import_ubl(session, paths, user)` reads the files, matches
them and posts them in the caller's transaction through `DocumentPoster.post_invoices`,
the same path as the CSV import; the CLI commits, or rolls back for a trial. Any refusal
refuses the whole batch (all files), with one message naming the file and the line.

Pipeline, per file, in order:

| step | what                                                                     | refused when                          |
|------|--------------------------------------------------------------------------|---------------------------------------|
| 0    | the files in posting order: by issue date, invoices before credit notes  |                                       |
|      | of a day, then file name; a credit note after the invoice of the batch   |                                       |
|      | it names (BT-25) (`in_posting_order`)                                    |                                       |
| 1    | `parse_invoice` (document type: `_Reader.type_code`); `check_arithmetic()`| unreadable; a type not booked; the    |
|      |                                                                          | figures do not add up                 |
| 1b   | the buyer (`check_buyer`): our company's VAT number, else its endpoint   | they are known and differ             |
|      | PayableRoundingAmount (`check_rounding`): posted on the rounding account | one currency unit or more             |
| 2    | the order: OrderReference (BT-13), when it names one of ours; without    | its currency is not the invoice's     |
|      | one, BuyerReference (BT-10) naming the seller's order (`named_order`)    |                                       |
| 3    | currency: the books' base currency only, for now                         | any other currency                    |
| 4    | supplier: the order's; else the one with the seller's VAT number, else   | seller's VAT number (endpoint) is not |
|      | the one with the seller's Peppol endpoint (`check_seller`)               | the supplier's, or another supplier's;|
|      |                                                                          | the supplier has none to check it by; |
|      |                                                                          | no or two suppliers fit               |
| 5    | duplicate: supplier + document number imported before or twice here      | always                                |
| 5b   | text lines (quantity 0, amount 0: `carries_nothing`) are skipped         | every line is one                     |
| 6    | per line: the named order's line by OrderLineReference (BT-132); failing | no line fits; two lines fit (the      |
|      | that, by item (seller's item id or buyer's item id = our item code)      | candidates are listed): never a guess;|
|      | among the named order's lines, or without an order among the supplier's  | the reference's item is not the one   |
|      | open orders, keeping only lines that can still take the quantity         | the line names; another unit than the |
|      | (`take`: the unit, and a credit's price against the line's prices)       | item's; a credit that looks like a    |
|      |                                                                          | price correction                      |
| 7    | amounts: the line's net as stated, after line allowances/charges, plus   |                                       |
|      | its share of document-level ones (`UblInvoice.line_amounts()`)           |                                       |
| 8    | VAT: per rate round(net x rate / 100), as `DocumentPoster` posts it      | it differs from the document's        |
| 9    | `DocumentPoster.post_invoices`: dated at the issue date; the price        | over-invoicing, locked period, ...    |
|      | difference is the stated amount less the change of the line's value      |                                       |

A credit note is a negative invoice (the parser negates it), so it lowers the invoiced
quantity of the lines it names. An invoice that names an order we do not have (BT-13 is
often filled with the buyer's contact or department) falls back to supplier + item; the
trial shows it. Our own invoice number is `UBL-<supplier>-<number>`, shortened with a
hash when longer than 32 characters, or made unique with a hash of the supplier and the
number when another supplier's document holds it (`_Matcher.number_for`).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from datetime import date
from pathlib import Path
from typing import Iterable, Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ledger.progress import QUIET, Progress
from ledger.errors import PledgerError
from ledger.files import not_a_file
from ledger.money import ZERO, format_quantity as fq, round_money
from ledger.periods import PeriodMap
from ledger.posting import PostedEntry, base_currency
from ledger.types import AMOUNT_SCALE, PRICE_SCALE, QUANTITY_SCALE, fits as column_fits, largest, too_large_to_store
from purchase.bounds import code_order
from purchase.documents import DocLine, DocumentPoster, InvoiceDoc, Posted, posting_order, refuse_unfit_number
from purchase.import_log import record_file_import
from purchase.models import Invoice, InvoiceLine, Item, OrderLine, PurchaseOrder, Supplier, invoice_kind, length_of
from purchase.orders import TAKES_DOCUMENTS
from purchase.rules import LineState
from purchase.settings import Company, company
from purchase.state import STATE_COLUMNS, line_state
from purchase.ubl.errors import UblError
from purchase.ubl.invoice import LineAmount, Party, UblInvoice, UblLine, parse_invoice

NUMBER_WIDTH = length_of(Invoice.number)
_PRICE_STEP = Decimal(1).scaleb(-PRICE_SCALE)


class UblImportError(PledgerError):
    pass


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class MatchedLine:
    """A UBL line, the order line it goes to, and what it does to that line."""

    ubl: UblLine
    order: str
    line: int
    order_line_id: int
    item: str
    matched_by: str  # "order line reference" or "item A4-80" (with why, when it fell back)
    amount: Decimal  # the net amount posted: stated net + share of document allowances/charges
    spread: Decimal  # that share
    before: LineState
    after: LineState

    @property
    def quantity(self) -> Decimal:
        return self.ubl.quantity

    @property
    def unit_price(self) -> Decimal | None:
        """The invoice's own net unit price: amount / quantity."""
        if self.quantity == ZERO:
            return None
        return (self.amount / self.quantity).quantize(_PRICE_STEP, rounding=ROUND_HALF_UP)

    @property
    def order_price(self) -> Decimal:
        return self.before.price

    @property
    def expected_amount(self) -> Decimal:
        """What the quantity is worth at the order's price: value(I1) - value(I0)."""
        return self.after.value(self.after.invoiced) - self.before.value(self.before.invoiced)

    @property
    def price_difference(self) -> Decimal:
        return self.amount - self.expected_amount

    @property
    def quantity_difference(self) -> Decimal:
        """The quantity less what the line still expects to invoice (0 = exactly what is left)."""
        return self.quantity - self.before.to_invoice


@dataclass(frozen=True)
class MatchedDocument:
    path: Path
    ubl: UblInvoice
    supplier: str
    number: str  # ours
    lines: tuple[MatchedLine, ...]
    posting_date: date | None = None  # `import ubl --date`: booked on it, not on the issue date
    order_reference: tuple[str, str] | None = None  # (our order, "OrderReference" or "BuyerReference") it names, if any
    skipped: tuple[UblLine, ...] = ()  # text lines: quantity 0 and amount 0 (`carries_nothing`), not posted

    @property
    def date(self) -> date:
        """The date it is booked on (its invoice date in the books): the posting date given, else its IssueDate."""
        return self.posting_date or self.ubl.issue_date

    @property
    def doc(self) -> InvoiceDoc:
        return InvoiceDoc(
            self.number,
            self.ubl.number,
            self.date,
            [
                DocLine(
                    m.order, m.line, m.quantity, unit_price=m.unit_price, vat_rate=m.ubl.vat_rate, amount=m.amount,
                    where=f"{self.path.name}: {self.ubl.label} line {m.ubl.line_id}",
                )
                for m in self.lines
            ],
            supplier=self.supplier,
            rounding=self.ubl.totals.payable_rounding_amount,
            where=f"{self.path.name}: {self.ubl.label}",  # as the import's own refusals name it (`_Matcher.match`)
        )

    @property
    def document(self) -> str:
        """The `document` dimension its journal lines carry."""
        return f"invoice {self.number}"


@dataclass(frozen=True)
class UblImport:
    documents: tuple[MatchedDocument, ...]
    posted: Posted

    def entry_of(self, document: MatchedDocument) -> PostedEntry | None:
        for entry in self.posted.entries:
            if any(line.document == document.document for line in entry.spec.lines):
                return entry
        return None


# --------------------------------------------------------------------------- reading


def ubl_files(paths: Iterable[str | Path]) -> list[Path]:
    """The files to read: each path as given, or a folder's *.xml files (sorted by name)."""
    out: list[Path] = []
    seen: set[Path] = set()
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".xml")
            if not found:
                raise UblImportError(f"{path}: no .xml files in this folder")
        elif path.is_file():
            found = [path]
        else:
            raise UblImportError(not_a_file(path) or f"{path}: no such file or folder")
        for p in found:
            key = p.resolve()
            if key not in seen:
                seen.add(key)
                out.append(p)
    if not out:
        raise UblImportError("no UBL files given: name one or more .xml files or a folder")
    return out


def read_document(path: Path) -> UblInvoice:
    """Parse one file and check its arithmetic; any fault is a refusal naming the file."""
    try:
        invoice = parse_invoice(path)
    except UblError as exc:
        text = str(exc)
        if not (text.startswith(path.name) or text.startswith(str(path))):
            text = f"{path.name}: {text}"
        raise UblImportError(text) from None
    errors = invoice.check_arithmetic()
    if errors:
        raise UblImportError(f"{path.name}: {invoice.label} does not add up, refused: {'; '.join(errors)}")
    try:
        invoice.line_amounts()  # a document-level allowance or charge no line can take: refused here, naming the file
    except UblError as exc:
        raise UblImportError(f"{path.name}: {exc}") from None
    return invoice


def our_number(supplier: str, number: str) -> str:
    """`UBL-<supplier>-<number>`; a longer one keeps its start and a hash of the whole."""
    full = f"UBL-{supplier}-{number}"
    return full if len(full) <= NUMBER_WIDTH else _start_and_hash(full, full)


def distinct_number(supplier: str, number: str) -> str:
    """Our number when `our_number` is another document's: JANS's S-1 and JANS-S's 1 both read
    UBL-JANS-S-1. Its start, and a hash of the supplier and the number told apart."""
    return _start_and_hash(f"UBL-{supplier}-{number}", f"{supplier}\x00{number}")


def _start_and_hash(full: str, hashed: str) -> str:
    """`full`'s start and a hash of `hashed` (`~` and 8 hex digits), in `NUMBER_WIDTH` characters."""
    digest = hashlib.sha256(hashed.encode("utf-8")).hexdigest()[:8]
    return f"{full[: NUMBER_WIDTH - 9]}~{digest}"


def normalise_id(value: str | None) -> str | None:
    """A VAT number or endpoint for comparing: no spaces, dots or dashes, upper case."""
    if not value:
        return None
    cleaned = "".join(ch for ch in value if ch.isalnum() or ch == ":").upper()
    return cleaned or None


DEFAULT_UNIT = "C62"
_PIECES = frozenset({"C62", "H87", "EA"})


def same_unit(invoiced: str, ours: str | None) -> bool:
    """Whether an invoice line's unit (UN/ECE Rec 20) is the item's.

    Order lines have no unit of their own: an order line is in its item's unit. An item
    given without one is in C62 ("one", the default `pledger import items` stores), so an
    item whose unit nobody set takes counted units and refuses boxes, grams or metres:
    pledger never converts. C62 (one), H87 (piece) and EA (each) all count pieces and are
    taken for one another; suppliers' systems use them interchangeably."""
    a = (invoiced or "").strip().upper()
    b = (ours or DEFAULT_UNIT).strip().upper() or DEFAULT_UNIT
    return a == b or (a in _PIECES and b in _PIECES)


def _price_text(price: Decimal) -> str:
    """A unit price for a message: at most the stored decimals, at least two ("25.00", "0.0495")."""
    value = price.quantize(_PRICE_STEP, rounding=ROUND_HALF_UP).normalize()
    return f"{value.quantize(Decimal('0.01')) if value.as_tuple().exponent > -2 else value:f}"


def _endpoint(party: Party) -> str:
    return f"{party.endpoint_scheme + ':' if party.endpoint_scheme else ''}{party.endpoint_id}"


def _same_endpoint(stored: str, party: Party) -> bool:
    """A stored endpoint ("0208:0881234508", or a bare id) is the party's EndpointID.

    A Belgian company's enterprise number (0208:0881234508) and its VAT number
    (9925:BE0881234508) are one participant: either names it."""
    ours = normalise_id(stored)
    bare = normalise_id(party.endpoint_id)
    full = normalise_id(f"{party.endpoint_scheme}:{party.endpoint_id}") if party.endpoint_scheme else None
    if ours is not None and ours in (bare, full):
        return True
    scheme, _, stored_id = (stored or "").partition(":")
    enterprise = _belgian_enterprise(scheme, stored_id)
    return enterprise is not None and enterprise == _belgian_enterprise(party.endpoint_scheme, party.endpoint_id)


def _belgian_enterprise(scheme: str | None, endpoint_id: str | None) -> str | None:
    """The Belgian enterprise number a 0208 or 9925 endpoint names ("0881234508"), else None."""
    value = normalise_id(endpoint_id)
    scheme = (scheme or "").strip()
    if not value or scheme not in ("0208", "9925"):
        return None
    if scheme == "9925" and value.startswith("BE"):
        value = value[2:]
    return value if value.isdigit() else None


def _names_vat_number(party: Party, vat_number: str | None) -> bool:
    """Whether the party's Peppol endpoint is the VAT number given: its id is the VAT number
    (9925:BE0666123447, 9944:NL812345678B01; a 9925 id may leave out the BE), or, for a Belgian
    VAT number, the enterprise number it is made of (0208:0666123447)."""
    vat = normalise_id(vat_number)
    endpoint = normalise_id(party.endpoint_id)
    if not vat or not endpoint:
        return False
    scheme = (party.endpoint_scheme or "").strip()
    return (endpoint == vat
            or (vat.startswith("BE") and scheme in ("0208", "9925") and endpoint == vat[2:]))


def _names_supplier(seller: Party, supplier: _Supplier) -> bool:
    """Whether the seller's VAT number or Peppol endpoint is the supplier's."""
    vat = normalise_id(seller.vat_number)
    return bool((vat and normalise_id(supplier.vat_number) == vat)
                or (seller.endpoint_id and supplier.endpoint_id and _same_endpoint(supplier.endpoint_id, seller)))


def _identified(party: Party) -> str:
    """How a party identifies itself: its VAT number and Peppol endpoint, as stated."""
    parts = []
    if party.vat_number:
        parts.append(f"VAT number {party.vat_number}")
    if party.endpoint_id:
        parts.append(f"Peppol endpoint {_endpoint(party)}")
    return ", ".join(parts) or "no VAT number or endpoint"


def carries_nothing(line: UblLine, amount: LineAmount) -> bool:
    """A text line: quantity 0 and amount 0 (its net, and its share of document-level allowances
    and charges). Suppliers' systems write notes as such lines ("delivered with note DN-88"); it
    bills no goods and no money, so it is skipped: not matched, not posted. A quantity of 0 with
    an amount is money for no goods, and goes on to be refused as before."""
    return line.quantity == ZERO and line.net_amount == ZERO and amount.amount == ZERO


def _kind(invoice: UblInvoice) -> str:
    return "credit note" if invoice.is_credit_note else "invoice"


def _one_a_number(invoice: UblInvoice) -> str:
    """Why a document whose number another kind of document of its supplier holds is refused, and what to do."""
    kind = _kind(invoice)
    suffix = "CN" if invoice.is_credit_note else "INV"
    how = " (negative quantities)" if invoice.is_credit_note else ""
    return (f"and pledger keeps one document per supplier and number: refused; import this {kind} with 'pledger "
            f"import invoices'{how} under a supplier_invoice of its own, such as {invoice.number}-{suffix}")


def _line_number(reference: str | None) -> int | None:
    if reference is None:
        return None
    text = reference.strip()
    return int(text) if text.isdigit() and len(text) <= 9 else None


# --------------------------------------------------------------------------- matching


@dataclass(frozen=True)
class _Supplier:
    id: int
    code: str
    name: str
    vat_number: str | None
    endpoint_id: str | None


@dataclass(frozen=True)
class _Order:
    id: int
    number: str
    currency: str
    supplier: _Supplier


class _Matcher:
    """Matches documents in order; line states are carried through the batch."""

    def __init__(self, session: Session, posting_date: date | None = None):
        self.session = session
        self.posting_date = posting_date
        self.base = base_currency(session)
        self.states: dict[int, LineState] = {}
        self.invoiced: dict[int, tuple[Decimal, Decimal]] = {}  # order line id -> units, amount invoiced in this batch
        self.seen: dict[tuple[str, str], tuple[Path, str]] = {}  # (supplier, number) -> file, kind
        self.numbers: dict[str, int] = {}  # our numbers given in this batch -> their supplier's id
        self._suppliers: list[_Supplier] | None = None
        self._items: dict[str, bool] = {}  # item code -> whether it is one of ours
        self._company: Company | None = None
        self.periods = PeriodMap(session)

    # ---- look-ups

    def order(self, number: str) -> _Order | None:
        row = self.session.execute(
            select(PurchaseOrder.id, PurchaseOrder.number, PurchaseOrder.currency, Supplier.id.label("sid"),
                   Supplier.code, Supplier.name, Supplier.vat_number, Supplier.endpoint_id)
            .join(Supplier, Supplier.id == PurchaseOrder.supplier_id)
            .where(PurchaseOrder.number == number)
        ).first()
        if row is None:
            return None
        return _Order(row.id, row.number, row.currency, _Supplier(row.sid, row.code, row.name, row.vat_number, row.endpoint_id))

    def suppliers(self) -> list[_Supplier]:
        if self._suppliers is None:
            self._suppliers = [
                _Supplier(r.id, r.code, r.name, r.vat_number, r.endpoint_id)
                for r in self.session.execute(
                    select(Supplier.id, Supplier.code, Supplier.name, Supplier.vat_number, Supplier.endpoint_id)
                    .where(or_(Supplier.vat_number.is_not(None), Supplier.endpoint_id.is_not(None)))
                    .order_by(code_order(Supplier.code))
                )
            ]
        return self._suppliers

    def line_rows(self, *conditions):
        stmt = (
            select(OrderLine.id, OrderLine.line_no, OrderLine.quantity, OrderLine.net_price,
                   *[getattr(OrderLine, c) for c in STATE_COLUMNS],
                   PurchaseOrder.number, PurchaseOrder.status, PurchaseOrder.currency, Item.code.label("item_code"),
                   Item.unit.label("item_unit"))
            .join(PurchaseOrder, PurchaseOrder.id == OrderLine.order_id)
            .join(Item, Item.id == OrderLine.item_id)
            .where(*conditions)
            .order_by(code_order(PurchaseOrder.number), OrderLine.line_no)
        )
        return self.session.execute(stmt).all()

    def state(self, row) -> LineState:
        return self.states.get(row.id) or line_state(row, row.currency)

    # ---- a document

    def match(self, path: Path, invoice: UblInvoice) -> MatchedDocument:
        where = f"{path.name}: {invoice.label}"
        self.check_buyer(where, invoice.buyer)
        self.check_rounding(where, invoice)
        order, named_by = self.named_order(invoice)
        if order is not None and invoice.currency != order.currency:
            raise UblImportError(
                f"{where} is in {invoice.currency}, its order {order.number} in {order.currency}: an invoice must be "
                f"in its order's currency (the books support only {self.base} for now); ask the supplier for an "
                f"invoice in {order.currency}"
            )
        if invoice.currency != self.base:
            raise UblImportError(
                f"{where} is in {invoice.currency}, the books are kept in {self.base}: foreign-currency invoices "
                f"cannot be imported yet; ask the supplier for an invoice in {self.base}"
            )
        if order is not None:
            supplier = order.supplier
            self.check_seller(where, invoice.seller, supplier, f" (order {order.number})")
        else:  # found by VAT number, else endpoint: what the seller states must still be that supplier's
            supplier = self.find_supplier(where, invoice.seller)
            self.check_seller(where, invoice.seller, supplier)
        try:  # what posting it would refuse without naming the file: its number as a CSV would take it, its date
            refuse_unfit_number(invoice.number, length_of(Invoice.supplier_invoice), "its number")
            self.periods.fiscal_year_for(self.posting_date or invoice.issue_date)
        except PledgerError as exc:
            how = ""
            if self.posting_date is None and self.periods.is_locked(invoice.issue_date) and self.periods.known(invoice.issue_date):
                # the date is the supplier's: "another date" is chosen with --date, the day it is booked on
                how = (f"; to book it in an open period, give the day it is booked on: "
                       f"'pledger import ubl --date YYYY-MM-DD {path.name}'")
            raise UblImportError(f"{where}: {exc}{how}") from None
        self.refuse_duplicate(path, where, invoice, supplier)

        why = self.why_fallback(invoice, order)
        amounts: list[LineAmount] = invoice.line_amounts()
        skipped = tuple(ubl_line for ubl_line, amount in zip(invoice.lines, amounts) if carries_nothing(ubl_line, amount))
        if len(skipped) == len(invoice.lines):
            raise UblImportError(
                f"{where}: every line has quantity 0 and amount 0: it bills no goods and no money, there is nothing "
                f"to book: refused"
            )
        lines = self.lines_in_posting_order(tuple(
            self.match_line(where, ubl_line, amount, order, supplier, why)
            for ubl_line, amount in zip(invoice.lines, amounts) if ubl_line not in skipped
        ))
        self.check_vat(where, invoice, lines)
        owed = abs(invoice.totals.tax_inclusive_amount + invoice.totals.payable_rounding_amount)  # what creditors are posted
        if owed > largest(AMOUNT_SCALE):
            raise UblImportError(f"{where}: its total {owed:f} {too_large_to_store(AMOUNT_SCALE)}")
        return MatchedDocument(path, invoice, supplier.code, self.number_for(supplier, invoice), lines,
                               self.posting_date, None if order is None else (order.number, named_by), skipped)

    def named_order(self, invoice: UblInvoice) -> tuple[_Order | None, str | None]:
        """Our order the document names, and by what: its OrderReference (BT-13); without one, its
        BuyerReference (BT-10) when that is the number of an order of the seller's supplier.

        Peppol BIS 3 asks for one of the two, and Dutch and Belgian buyers have their PO number put
        in BuyerReference. It often holds a contact or a department instead, which may happen to
        be another supplier's order number: that names no order, as before."""
        if invoice.order_reference:
            order = self.order(invoice.order_reference)
            return order, None if order is None else "OrderReference"
        if invoice.buyer_reference:
            order = self.order(invoice.buyer_reference)
            if order is not None and _names_supplier(invoice.seller, order.supplier):
                return order, "BuyerReference"
        return None, None

    def number_for(self, supplier: _Supplier, invoice: UblInvoice) -> str:
        """`our_number`, or `distinct_number` when another supplier's document (posted, or given
        earlier in this batch) holds it. One of the same supplier holding it (keyed in by hand
        under our number) may be this very invoice: posting refuses it as posted before."""
        number = our_number(supplier.code, invoice.number)
        holder = self.numbers.get(number)
        if holder is None:
            holder = self.session.scalar(select(Invoice.supplier_id).where(Invoice.number == number))
        if holder is not None and holder != supplier.id:
            number = distinct_number(supplier.code, invoice.number)
        self.numbers.setdefault(number, supplier.id)
        return number

    def check_seller(self, where: str, seller: Party, supplier: _Supplier, via: str = "") -> None:
        """The seller must be the order's supplier, as far as the books can tell, and be told apart.

        Refused: a seller whose VAT number or Peppol endpoint is another supplier's of the book
        (and not this one's); a VAT number (or, the supplier having none, an endpoint) that is
        not the supplier's; a seller without a VAT number when the supplier has one; and a
        seller that states a VAT number or endpoint when the supplier has nothing to check it
        by (no VAT number, and no endpoint or, the seller stating none, nothing comparable):
        the accountant would rather be asked than book a stranger's invoice on the supplier.
        """
        other = self.other_supplier(seller, supplier)
        if other is not None:
            raise UblImportError(
                f"{where}: the seller {seller.name} ({_identified(seller)}) is supplier {other.code} of the books, "
                f"not supplier {supplier.code}{via}: refused; check the order reference"
            )
        ours, theirs = normalise_id(supplier.vat_number), normalise_id(seller.vat_number)
        if ours and theirs and ours != theirs:
            raise UblImportError(
                f"{where}: the seller's VAT number {seller.vat_number} ({seller.name}) is not supplier "
                f"{supplier.code}'s {supplier.vat_number}{via}: refused; check the order reference or the "
                f"supplier's vat_number"
            )
        if ours and not theirs:
            raise UblImportError(
                f"{where}: the seller ({seller.name}) states no VAT number, supplier {supplier.code}{via} has "
                f"{supplier.vat_number}: refused, the seller cannot be checked"
            )
        if ours:
            return
        if supplier.endpoint_id and seller.endpoint_id:
            if not _same_endpoint(supplier.endpoint_id, seller):
                raise UblImportError(
                    f"{where}: the seller's Peppol endpoint {_endpoint(seller)} ({seller.name}) is not supplier "
                    f"{supplier.code}'s {supplier.endpoint_id}{via}: refused; check the order reference or the "
                    f"supplier's endpoint_id"
                )
            return
        if seller.vat_number or seller.endpoint_id:
            raise UblImportError(
                f"{where}: supplier {supplier.code}{via} has no VAT number to check the seller {seller.name} "
                f"({_identified(seller)}) against: refused; give the supplier its vat_number with "
                f"'pledger import suppliers' (a suppliers file with the columns code, name, currency, vat_number)"
            )

    def other_supplier(self, seller: Party, supplier: _Supplier) -> _Supplier | None:
        """Another supplier of the book that the seller's VAT number or endpoint names, when the
        order's supplier is not named by them as well."""
        if _names_supplier(seller, supplier):
            return None
        return next((s for s in self.suppliers() if s.id != supplier.id and _names_supplier(seller, s)), None)

    def check_buyer(self, where: str, buyer: Party | None) -> None:
        """The invoice must be addressed to our company (`pledger settings company`).

        Compared by VAT number when the company and the buyer both have one, else by Peppol
        endpoint when both have one; with neither known on both sides nothing is compared. A
        buyer's endpoint is ours when it is the company's endpoint, or names our VAT number
        (`_names_vat_number`: 9925:BE0666123447, or 0208:0666123447 for a Belgian one): Belgian
        companies are reached on Peppol by their enterprise number and by their VAT number."""
        if buyer is None:
            return
        if self._company is None:
            self._company = company(self.session)
        ours = self._company
        if ours.vat_number and buyer.vat_number:
            if normalise_id(ours.vat_number) != normalise_id(buyer.vat_number):
                raise UblImportError(
                    f"{where} is addressed to {buyer.name}, VAT number {buyer.vat_number}; our company is "
                    f"{ours.vat_number}: refused, it is not our invoice (its VAT is not ours to deduct); send it "
                    f"back to the supplier, or correct 'pledger settings company --vat-number'"
                )
            return
        if ours.endpoint and buyer.endpoint_id and not _same_endpoint(ours.endpoint, buyer) \
                and not _names_vat_number(buyer, ours.vat_number):
            raise UblImportError(
                f"{where} is addressed to {buyer.name}, Peppol endpoint {_endpoint(buyer)}; our company is "
                f"{ours.endpoint}: refused, it is not our invoice; send it back to the supplier, or correct "
                f"'pledger settings company --endpoint'"
            )

    def check_rounding(self, where: str, invoice: UblInvoice) -> None:
        """PayableRoundingAmount (BT-114) is posted on the rounding account; it rounds the payable
        amount to a coin, so one currency unit or more is refused as not a rounding."""
        rounding = invoice.totals.payable_rounding_amount
        if abs(rounding) >= 1:
            stated = -rounding if invoice.is_credit_note else rounding  # as the document has it (a credit note's is negated)
            raise UblImportError(
                f"{where}: PayableRoundingAmount {stated:f} is not a rounding of the payable amount "
                f"(one {invoice.currency} or more): refused; ask the supplier for a corrected document"
            )

    def find_supplier(self, where: str, seller: Party) -> _Supplier:
        vat = normalise_id(seller.vat_number)
        found = [s for s in self.suppliers() if vat and normalise_id(s.vat_number) == vat]
        how = f"VAT number {seller.vat_number}"
        if not found and seller.endpoint_id:
            found = [s for s in self.suppliers() if s.endpoint_id and _same_endpoint(s.endpoint_id, seller)]
            how = f"Peppol endpoint {_endpoint(seller)}"
        if len(found) > 1:
            raise UblImportError(
                f"{where}: names no order of ours, and suppliers {', '.join(s.code for s in found)} all have "
                f"{how}: refusing to guess; add the order reference or keep the number on one supplier"
            )
        if not found and not (vat or seller.endpoint_id):
            raise UblImportError(
                f"{where}: names no order of ours, and the seller ({seller.name}) states no VAT number or Peppol "
                f"endpoint to find its supplier by: refused; ask the supplier for an invoice that quotes our order number"
            )
        if not found:
            named, column = ((f"VAT number {seller.vat_number}", "vat_number") if vat else
                             (f"Peppol endpoint {_endpoint(seller)}", "endpoint_id"))
            raise UblImportError(
                f"{where}: names no order of ours and no supplier has the seller's {named} ({seller.name}); "
                f"set the supplier's {column} with 'pledger import suppliers'"
            )
        return found[0]

    def refuse_duplicate(self, path: Path, where: str, invoice: UblInvoice, supplier: _Supplier) -> None:
        """Supplier and number are one document's (the books' unique key): a second document with
        them is refused, naming the one that holds them. An invoice and a credit note a supplier
        numbers apart may share a number: that is said, with the way to book it."""
        kind = _kind(invoice)
        key = (supplier.code, invoice.number)
        if key in self.seen:
            other, other_kind = self.seen[key]
            if other_kind == kind:
                raise UblImportError(
                    f"{where}: supplier {supplier.code}'s {invoice.number} is also in {other.name}: "
                    f"a document is imported once"
                )
            raise UblImportError(
                f"{where}: supplier {supplier.code}'s {other_kind} {invoice.number} in {other.name} has this number "
                f"too, {_one_a_number(invoice)}"
            )
        self.seen[key] = (path, kind)
        known = self.session.execute(
            select(Invoice.number, Invoice.invoice_date, Invoice.net_total)
            .where(Invoice.supplier_id == supplier.id, Invoice.supplier_invoice == invoice.number)
        ).first()
        if known is None:
            return
        held_by = invoice_kind(known.net_total)
        if held_by == kind:
            raise UblImportError(
                f"{where}: supplier {supplier.code}'s {kind} {invoice.number} was already imported (as {known.number}, "
                f"dated {known.invoice_date.isoformat()}): a document is imported once"
            )
        raise UblImportError(
            f"{where}: supplier {supplier.code}'s {held_by} {invoice.number} already holds this number (imported as "
            f"{known.number}, dated {known.invoice_date.isoformat()}), {_one_a_number(invoice)}"
        )

    @staticmethod
    def why_fallback(invoice: UblInvoice, order: _Order | None) -> str:
        if order is not None:
            return ""
        if invoice.order_reference is None:
            return "the invoice names no order (BT-13)"
        return f"order {invoice.order_reference} named by the invoice is not ours"

    # ---- a line

    def match_line(self, where: str, ubl: UblLine, amount: LineAmount, order: _Order | None,
                   supplier: _Supplier, why: str) -> MatchedLine:
        where = f"{where} line {ubl.line_id}"
        if not column_fits(ubl.quantity, QUANTITY_SCALE):
            raise UblImportError(f"{where}: quantity {fq(abs(ubl.quantity))} has more than {QUANTITY_SCALE} decimals")
        price = None if ubl.quantity == ZERO else abs(amount.amount / ubl.quantity).quantize(_PRICE_STEP, rounding=ROUND_HALF_UP)
        for what, value, scale in (("quantity", abs(ubl.quantity), QUANTITY_SCALE), ("unit price", price, PRICE_SCALE),
                                   ("amount", abs(amount.amount), AMOUNT_SCALE)):
            if value is not None and value > largest(scale):  # refused here, naming the line, not when its row is written
                raise UblImportError(f"{where}: {what} {fq(value)} {too_large_to_store(scale)}")
        number = _line_number(ubl.order_line_reference)
        if order is not None:
            if number is not None:
                rows = self.line_rows(OrderLine.order_id == order.id, OrderLine.line_no == number)
                if rows:
                    self.check_reference(where, ubl, order, rows[0])
                    return self.take(where, rows[0], ubl, amount, "order line reference")
                why = f"order {order.number} has no line {ubl.order_line_reference}"
            elif ubl.order_line_reference is not None:
                why = f"order line reference '{ubl.order_line_reference}' is not a line number"
            else:
                why = "no order line reference (BT-132)"
        codes = list(dict.fromkeys(c for c in (ubl.seller_item_id, ubl.buyer_item_id) if c))
        if not codes:
            raise UblImportError(
                f"{where}: cannot be matched: {why}, and the line names no item (seller's or buyer's item id)"
            )
        named = " or ".join(codes)
        if order is not None:
            rows = self.line_rows(OrderLine.order_id == order.id, Item.code.in_(codes))
            scope = f"order {order.number}"
        else:
            rows = self.line_rows(PurchaseOrder.supplier_id == supplier.id, Item.code.in_(codes),
                                  PurchaseOrder.status.in_(TAKES_DOCUMENTS))
            scope = f"the orders of supplier {supplier.code}"
        fits = [r for r in rows if self.fits(r, ubl.quantity)]
        if len(fits) == 1:
            return self.take(where, fits[0], ubl, amount, f"item {fits[0].item_code} ({why})")
        if len(fits) > 1:
            listed = ", ".join(f"{r.number} line {r.line_no} ({r.item_code}, to invoice {fq(self.state(r).to_invoice)})" for r in fits)
            raise UblImportError(
                f"{where}: {why}, and {len(fits)} lines of {scope} fit item {named}: {listed}; refusing to guess: "
                f"ask the supplier for the order line reference, or import the invoice as CSV"
            )
        if order is not None and len(rows) == 1:
            # the one line of the named order: let the posting say precisely why it cannot take it
            return self.take(where, rows[0], ubl, amount, f"item {rows[0].item_code} ({why})")
        action = "credit" if ubl.quantity < ZERO else "invoice"
        if rows:
            listed = ", ".join(f"{r.number} line {r.line_no} (to invoice {fq(self.state(r).to_invoice)}, "
                               f"invoiced {fq(self.state(r).invoiced)})" for r in rows)
            raise UblImportError(
                f"{where}: {why}, and no line of {scope} for item {named} can take the {fq(abs(ubl.quantity))} to "
                f"{action}: {listed}"
            )
        raise UblImportError(
            f"{where}: no order line to match: {why}, and {scope} have no line for item {named}; "
            f"create the order first"
            if order is None else
            f"{where}: no order line to match: {why}, and {scope} has no line for item {named}"
        )

    def lines_in_posting_order(self, lines: tuple[MatchedLine, ...]) -> tuple[MatchedLine, ...]:
        """A document's lines in the order they post: as the document has them, except that each
        line is posted as soon as its order line can hold it (`line_can_hold`), lines that cannot yet
        waiting for the others (of one order line: the document is taken whole): the rule of
        `purchase.documents.posting_order`, which CSV files and commands post by too.

        `DocumentPoster` checks each line against the state the lines before it left, so the
        supplier's line order decided whether a document was taken: OpenPEPPOL's credit-note
        correction credits 5 of a line invoiced 3 and invoices 2 back on a later line (-2 first
        would take the line below zero), a price correction invoices 10 at the new price and
        credits 10 at the old one on a line fully invoiced (over-invoicing, the other way
        round). Each line's `before` and `after` are chained again in this order, and the
        batch's line states follow it. With no line that can post, the first waiting one goes:
        the posting refuses it, naming it, as before."""
        if len({m.order_line_id for m in lines}) == len(lines):
            return lines  # one line an order line: no order among them matters
        states: dict[int, LineState] = {}
        for m in lines:
            states.setdefault(m.order_line_id, m.before)  # the first is the state before the document
        order, _ = posting_order("invoice", [(m.order_line_id, m.quantity) for m in lines], states)
        posted = []
        for m in (lines[i] for i in order):
            before = states[m.order_line_id]
            states[m.order_line_id] = after = before.invoice(m.quantity)
            posted.append(replace(m, before=before, after=after))
        self.states.update(states)
        return tuple(posted)

    def fits(self, row, quantity: Decimal) -> bool:
        if row.status not in TAKES_DOCUMENTS:
            return False
        state = self.state(row)
        if quantity >= ZERO:
            return state.to_invoice >= quantity > ZERO
        return state.invoiced - state.written_off_unreceived + quantity >= ZERO

    def check_reference(self, where: str, ubl: UblLine, order: _Order, row) -> None:
        """An OrderLineReference the line's own item ids contradict is refused, not trusted.

        The ids that name one of our items: the buyer's item id (BT-156, our code by
        definition), and the seller's (BT-155) when it is one of our item codes. When the line
        has such ids and none is the referenced line's item, the reference is wrong (or they
        are). A seller's id we do not know says nothing: the reference is taken."""
        if row.item_code in (ubl.buyer_item_id, ubl.seller_item_id):
            return
        naming = [c for c in (ubl.buyer_item_id,) if c]
        if ubl.seller_item_id and ubl.seller_item_id not in naming and self.is_item(ubl.seller_item_id):
            naming.append(ubl.seller_item_id)
        if naming:
            raise UblImportError(
                f"{where}: its order line reference {ubl.order_line_reference} is order {order.number} line "
                f"{row.line_no}, item {row.item_code}, but the line names item {' / '.join(naming)}: refused; "
                f"ask the supplier for the right order line reference"
            )

    def is_item(self, code: str) -> bool:
        if code not in self._items:
            self._items[code] = self.session.scalar(select(Item.id).where(Item.code == code)) is not None
        return self._items[code]

    def take(self, where: str, row, ubl: UblLine, amount: LineAmount, matched_by: str) -> MatchedLine:
        unit = row.item_unit or DEFAULT_UNIT
        if not same_unit(ubl.unit_code, unit):
            raise UblImportError(
                f"{where}: {fq(abs(ubl.quantity))} {ubl.unit_code} {'credited' if ubl.quantity < ZERO else 'invoiced'}, "
                f"order {row.number} line {row.line_no} ({row.item_code}) is in {unit}: refused, pledger does not "
                f"convert units; ask the supplier for the document in {unit}"
            )
        before = self.state(row)
        after = before.invoice(ubl.quantity)
        matched = MatchedLine(
            ubl=ubl, order=row.number, line=row.line_no, order_line_id=row.id, item=row.item_code,
            matched_by=matched_by, amount=amount.amount, spread=amount.spread, before=before, after=after,
        )
        if ubl.quantity < ZERO:
            self.refuse_price_correction(where, row, matched)
        elif ubl.quantity > ZERO:
            qty, value = self.invoiced.get(row.id, (ZERO, ZERO))
            self.invoiced[row.id] = (qty + ubl.quantity, value + amount.amount)
        self.states[row.id] = after
        return matched

    def refuse_price_correction(self, where: str, row, matched: MatchedLine) -> None:
        """A credit whose unit price is under half, or over double, every price the line has:
        its order price and the price it was invoiced at (invoices before and in this batch).

        Pledger books a credit note as quantities credited back (DOMAIN.md): 10 x 0.50
        "price correction" on a line invoiced at 25.00 would take 10 units back off the line
        (Cr goods received 250.00) with a price difference of 245.00."""
        price = matched.unit_price
        if price is None:
            return
        prices = [matched.order_price]
        qty, value = self.invoiced_before(row.id)
        if qty > ZERO:
            prices.append(value / qty)
        if all(price * 2 < p or price > p * 2 for p in prices):
            shown = [_price_text(p) for p in prices]
            priced = (f"ordered at {shown[0]}" if len(shown) == 1 else
                      f"ordered and invoiced at {shown[0]}" if shown[0] == shown[1] else
                      f"ordered at {shown[0]}, invoiced at {shown[1]}")
            raise UblImportError(
                f"{where}: credits {fq(abs(matched.quantity))} at {_price_text(price)}, order {row.number} line "
                f"{row.line_no} ({row.item_code}) was {priced}: this looks like a price correction, which "
                f"pledger does not book as quantities credited back; book it outside pledger, or ask the supplier "
                f"for a credit note of the quantities at their price"
            )

    def invoiced_before(self, order_line_id: int) -> tuple[Decimal, Decimal]:
        """Units invoiced on the line (positive invoice lines) and their amount: posted, and in this batch."""
        qty, value = self.invoiced.get(order_line_id, (ZERO, ZERO))
        for q, a in self.session.execute(
            select(InvoiceLine.quantity, InvoiceLine.amount).where(InvoiceLine.order_line_id == order_line_id)
        ):
            if q > ZERO:
                qty, value = qty + q, value + a
        return qty, value

    def check_vat(self, where: str, invoice: UblInvoice, lines: Sequence[MatchedLine]) -> None:
        """VAT is posted per rate as round(net at that rate x rate / 100): it must be the document's."""
        net: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
        stated: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
        for m in lines:
            net[m.ubl.vat_rate] += m.amount
        for sub in invoice.tax_subtotals:
            stated[sub.vat_rate] += sub.tax_amount
        sign = -1 if invoice.is_credit_note else 1
        for rate in sorted(set(net) | set(stated)):
            computed = round_money(net[rate] * rate / Decimal(100), self.base)
            if computed != stated[rate]:
                raise UblImportError(
                    f"{where}: VAT at {fq(rate)}% is {sign * stated[rate]:f} in the document, the books post "
                    f"{sign * computed:f} (round({sign * net[rate]:f} x {fq(rate)}%)); ask the supplier for a "
                    f"corrected document"
                )


# --------------------------------------------------------------------------- the service


def in_posting_order(parsed: Sequence[tuple[Path, UblInvoice]]) -> list[tuple[Path, UblInvoice]]:
    """The supplier's own sequence: by issue date, invoices before credit notes on one day, then
    file name (then as given); a credit note that names an invoice of the batch (BillingReference,
    BT-25, from the same seller) comes after it, whatever its date.

    A folder where CN-2024-0007.xml sorts before INV-2024-0031.xml posts the invoice first; a
    supplier's invoice, the credit note that takes it back in full and the corrected invoice
    that follows post in that order: posting both invoices first would invoice the line twice
    and refuse the batch (it took each file alone). The batch stays one transaction: all or
    nothing."""
    invoice_dates: dict[tuple[str | None, str], date] = {}
    for _, invoice in parsed:
        if not invoice.is_credit_note:
            key = (_seller_key(invoice.seller), invoice.number)
            invoice_dates[key] = max(invoice.issue_date, invoice_dates.get(key, invoice.issue_date))

    def key(pi: tuple[Path, UblInvoice]):
        invoice = pi[1]
        when = invoice.issue_date
        if invoice.is_credit_note and invoice.billing_reference is not None:
            credited = invoice_dates.get((_seller_key(invoice.seller), invoice.billing_reference))
            if credited is not None and credited > when:
                when = credited
        return (when, invoice.is_credit_note, pi[0].name)

    return sorted(parsed, key=key)


def _seller_key(seller: Party) -> str | None:
    """Who sent a document, for pairing a credit note with the invoice it names: VAT number, else endpoint, else name."""
    return normalise_id(seller.vat_number) or normalise_id(seller.endpoint_id) or seller.name


def match_documents(session: Session, paths: Iterable[str | Path], posting_date: date | None = None) -> list[MatchedDocument]:
    """Read and match every file, in posting order (`in_posting_order`); writes nothing.
    With `posting_date`, every document is booked on it instead of its IssueDate."""
    files = ubl_files(paths)
    parsed = in_posting_order([(path, read_document(path)) for path in files])
    matcher = _Matcher(session, posting_date)
    return [matcher.match(path, invoice) for path, invoice in parsed]


def import_ubl(session: Session, paths: Iterable[str | Path], user: str, *,
               progress: Progress = QUIET, posting_date: date | None = None) -> UblImport:
    """Read, match and post every file in the caller's transaction: all of them or none.
    Each file is logged as its own import (`purchase.import_log`: its path and SHA-256),
    and its invoice points at it."""
    documents = match_documents(session, paths, posting_date)
    progress.start(sum(len(d.doc.lines) for d in documents))
    docs = [replace(d.doc, import_id=record_file_import(session, "ubl", d.path, user)) for d in documents]
    posted = DocumentPoster(session, user, progress=progress).post_invoices(docs)
    return UblImport(tuple(documents), posted)
