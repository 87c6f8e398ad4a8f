"""Reading Peppol BIS Billing 3.0 purchase invoices and credit notes (UBL 2.1).

`parse_invoice(path_or_bytes)` reads an `Invoice` or a `CreditNote` with lxml and explicit
XPaths and returns a frozen `UblInvoice`. Only the fields the purchase ledger needs are read;
everything else in the document is ignored.

Sign convention
---------------
An invoice is read as it stands. A credit note is read as a *negative invoice*: every
quantity and every amount (line quantities, line net amounts, line and document-level
allowance and charge amounts, tax amounts, taxable amounts and all monetary totals) is
negated, so that the caller posts it with the very same code as an invoice. Unit prices,
base quantities and VAT rates keep their sign (a price is never negative in Peppol), so
`net = quantity x price / base_quantity - allowances + charges` holds for both kinds.
`AllowanceCharge.is_charge` keeps the document's meaning: a credit note's allowance is
still an allowance, with a negative amount. Messages from `check_arithmetic()` quote
figures as they stand in the document (a credit note's figures positive), so that a user
can find them in the XML.

Pipeline of `parse_invoice`
---------------------------
| step | what                                                         | error              |
|------|--------------------------------------------------------------|--------------------|
| 1    | read bytes, parse XML (no entities, no network)              | malformed XML; a   |
|      |                                                              | DOCTYPE declaring  |
|      |                                                              | entities           |
| 2    | root must be UBL 2.1 `Invoice` or `CreditNote`               | unknown root       |
| 3    | header: ID, IssueDate, type code, DocumentCurrencyCode,      | missing element;   |
|      | references (`_Reader.type_code`: the codes taken)            | a type not booked  |
| 4    | parties: seller (required), buyer (optional)                 | missing element    |
| 5    | document-level allowances and charges                        | not a decimal      |
| 6    | TaxTotal in the document currency, its subtotals per rate   | other currency     |
| 7    | LegalMonetaryTotal                                           |                    |
| 8    | lines                                                        |                    |

Every structural problem raises `UblError` at once; arithmetic that does not add up does
not: `UblInvoice.check_arithmetic()` lists all of it (empty list = fine).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Union

from lxml import etree

from ledger.money import (
    ZERO,
    D,
    MoneyError,
    allocate,
    currency_code,
    format_quantity,
    minor_unit,
    round_money,
)
from purchase.ubl.errors import UblError

CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
NS = {"cbc": CBC, "cac": CAC, "inv": INVOICE_NS, "cn": CREDIT_NOTE_NS}

Source = Union[bytes, bytearray, str, os.PathLike]

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

# The document type codes (BT-3, UNCL1001) taken: those that bill (or credit) goods and
# services as quantities of order lines. Every other code of the subset Peppol BIS 3 allows
# is refused by `_Reader.type_code`, with what the document is and what to do.
INVOICE_TYPE_CODES = {
    "380": "commercial invoice",
    "383": "debit note",
    "384": "corrected invoice",
    "389": "self-billed invoice",
    "751": "invoice information for accounting purposes",
}
CREDIT_NOTE_TYPE_CODES = {
    "381": "credit note",
    "396": "factored credit note",
    "261": "self-billed credit note",
    "262": "consolidated credit note (goods and services)",
    "81": "credit note related to goods or services",
}
_CREDIT_CODES_IN_AN_INVOICE = {"81", "83", "261", "262", "296", "308", "381", "396", "420", "458", "532"}
_PREPAYMENT_CODES = {"386": "prepayment invoice", "387": "hire invoice"}
_NOT_QUANTITIES = {
    "83": "credit note related to financial adjustments",
    "532": "forwarder's credit note",
    "458": "reversal of credit",
    "420": "optical character reading (OCR) credit note",
    "296": "credit note for price reduction",
    "308": "delcredere credit note",
    "326": "partial invoice",
    "82": "invoice for metered services",
    "80": "debit note related to goods or services",
    "84": "debit note related to financial adjustments",
    "393": "factored invoice",
    "394": "lease invoice",
    "395": "consignment invoice",
    "575": "insurer's invoice",
    "623": "forwarder's invoice",
    "780": "freight invoice",
    "935": "customs invoice",
}
_ONE = D(1)


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class Party:
    """A party of the document: name, Peppol endpoint (EndpointID and its schemeID), VAT number."""

    name: str
    endpoint_id: str | None = None
    endpoint_scheme: str | None = None
    vat_number: str | None = None


@dataclass(frozen=True)
class AllowanceCharge:
    """An allowance (discount, `is_charge` False) or a charge (`is_charge` True).

    On a line it has no VAT category; at document level Peppol requires one (BR-32, BR-37).
    `amount` is as written in the document (negated in a credit note); `effect` is what it
    does to the net amount: minus an allowance, plus a charge.
    """

    is_charge: bool
    amount: Decimal
    reason: str | None = None
    reason_code: str | None = None
    base_amount: Decimal | None = None
    multiplier_pct: Decimal | None = None
    vat_category: str | None = None
    vat_rate: Decimal | None = None

    @property
    def effect(self) -> Decimal:
        return self.amount if self.is_charge else -self.amount

    @property
    def kind(self) -> str:
        return "charge" if self.is_charge else "allowance"


@dataclass(frozen=True)
class UblLine:
    """One InvoiceLine or CreditNoteLine."""

    line_id: str
    quantity: Decimal
    unit_code: str
    price: Decimal
    net_amount: Decimal
    vat_category: str
    vat_rate: Decimal
    base_quantity: Decimal = _ONE
    order_line_reference: str | None = None
    seller_item_id: str | None = None
    buyer_item_id: str | None = None
    item_name: str | None = None
    allowance_charges: tuple[AllowanceCharge, ...] = ()

    @property
    def allowance_total(self) -> Decimal:
        return sum((ac.amount for ac in self.allowance_charges if not ac.is_charge), ZERO)

    @property
    def charge_total(self) -> Decimal:
        return sum((ac.amount for ac in self.allowance_charges if ac.is_charge), ZERO)

    @property
    def vat_key(self) -> tuple[str, Decimal]:
        return (self.vat_category, self.vat_rate)


@dataclass(frozen=True)
class TaxSubtotal:
    """One cac:TaxSubtotal: the taxable amount and tax at one VAT category and rate."""

    taxable_amount: Decimal
    tax_amount: Decimal
    vat_category: str
    vat_rate: Decimal

    @property
    def vat_key(self) -> tuple[str, Decimal]:
        return (self.vat_category, self.vat_rate)


@dataclass(frozen=True)
class MonetaryTotal:
    """cac:LegalMonetaryTotal. Allowance and charge totals are None when absent."""

    line_extension_amount: Decimal
    tax_exclusive_amount: Decimal
    tax_inclusive_amount: Decimal
    payable_amount: Decimal
    allowance_total_amount: Decimal | None = None
    charge_total_amount: Decimal | None = None
    prepaid_amount: Decimal = ZERO
    payable_rounding_amount: Decimal = ZERO


@dataclass(frozen=True)
class LineAmount:
    """A line's net amount after spreading the document-level allowances and charges.

    `spread` is the line's share of them (allowances negative, charges positive) and
    `amount = net + spread`. Lines come in the order of `UblInvoice.lines`.
    """

    line_id: str
    vat_category: str
    vat_rate: Decimal
    net: Decimal
    spread: Decimal
    amount: Decimal


@dataclass(frozen=True)
class UblInvoice:
    """A parsed Peppol BIS 3 invoice or credit note (credit notes negated: see the module)."""

    is_credit_note: bool
    number: str
    issue_date: date
    currency: str
    seller: Party
    lines: tuple[UblLine, ...]
    totals: MonetaryTotal
    tax_amount: Decimal
    tax_subtotals: tuple[TaxSubtotal, ...] = ()
    allowance_charges: tuple[AllowanceCharge, ...] = ()
    order_reference: str | None = None
    billing_reference: str | None = None
    buyer_reference: str | None = None
    buyer: Party | None = None
    tax_currency: str | None = None
    tax_amount_in_tax_currency: Decimal | None = None
    type_code: str | None = None  # InvoiceTypeCode / CreditNoteTypeCode (BT-3): one of `TYPE_CODES`

    @property
    def label(self) -> str:
        """How messages name the document: "invoice INV-7", "credit note CN-1"."""
        return f"{'credit note' if self.is_credit_note else 'invoice'} {self.number}"

    # ----------------------------------------------------------------- arithmetic

    def check_arithmetic(self) -> list[str]:
        """Every arithmetic error of the document, as precise messages (empty = fine).

        Checked, to the currency's minor unit (half-up rounding):
        - per line: net = round(quantity x price / base_quantity) - allowances + charges, or
          within 0.02 of quantity x price / base_quantity - allowances + charges unrounded, as
          Peppol's PEPPOL-EN16931-R120 allows (two minor units; none in a currency without
          them); the net stated is what the books post;
        - LineExtensionAmount = sum of the line nets;
        - AllowanceTotalAmount / ChargeTotalAmount = sum of the document-level ones;
        - TaxExclusiveAmount = LineExtensionAmount - AllowanceTotalAmount + ChargeTotalAmount;
        - TaxAmount = sum of the subtotals; each VAT category and rate used has a subtotal;
        - per subtotal: TaxableAmount = its lines' nets - allowances + charges at that
          category and rate, and TaxAmount = round(TaxableAmount x rate / 100) within one
          minor unit;
        - every document-level allowance or charge has a line at its rate to spread over;
        - TaxInclusiveAmount = TaxExclusiveAmount + TaxAmount;
        - PayableAmount = TaxInclusiveAmount - PrepaidAmount + PayableRoundingAmount.
        """
        errors: list[str] = []
        cur = self.currency
        label = self.label
        fig = self._figure
        money = self._money

        unit = minor_unit(cur)
        slack = 2 * unit if unit < 1 else ZERO  # PEPPOL-EN16931-R120: 0.02 (JPY: none)
        for line in self.lines:
            exact = line.quantity * line.price / line.base_quantity
            gross = round_money(exact, cur)
            allowances, charges = line.allowance_total, line.charge_total
            expected = gross - allowances + charges
            if line.net_amount != expected and abs(line.net_amount - (exact - allowances + charges)) > slack:
                text = (
                    f"{label} line {line.line_id}: net {fig(line.net_amount)} is not quantity "
                    f"{format_quantity(self._doc(line.quantity))} x price {line.price:f} / "
                    f"{format_quantity(line.base_quantity)} = {fig(gross)}"
                )
                if allowances:
                    text += f" - allowances {money(allowances)}"
                if charges:
                    text += f" + charges {money(charges)}"
                if allowances or charges:
                    text += f" = {money(expected)}"
                errors.append(text)

        t = self.totals
        line_sum = sum((line.net_amount for line in self.lines), ZERO)
        if line_sum != t.line_extension_amount:
            errors.append(
                f"{label}: LineExtensionAmount {fig(t.line_extension_amount)} is not the sum "
                f"of the line nets {money(line_sum)}"
            )

        doc_allowances = sum((ac.amount for ac in self.allowance_charges if not ac.is_charge), ZERO)
        doc_charges = sum((ac.amount for ac in self.allowance_charges if ac.is_charge), ZERO)
        for name, stated, computed, kind in (
            ("AllowanceTotalAmount", t.allowance_total_amount, doc_allowances, "allowances"),
            ("ChargeTotalAmount", t.charge_total_amount, doc_charges, "charges"),
        ):
            if stated is None:
                if computed != ZERO:
                    errors.append(
                        f"{label}: {name} is missing; the document-level {kind} "
                        f"sum to {money(computed)}"
                    )
            elif stated != computed:
                errors.append(
                    f"{label}: {name} {fig(stated)} is not the sum of the document-level "
                    f"{kind} {money(computed)}"
                )

        allowance_total = t.allowance_total_amount if t.allowance_total_amount is not None else ZERO
        charge_total = t.charge_total_amount if t.charge_total_amount is not None else ZERO
        expected = t.line_extension_amount - allowance_total + charge_total
        if t.tax_exclusive_amount != expected:
            errors.append(
                f"{label}: TaxExclusiveAmount {fig(t.tax_exclusive_amount)} is not "
                f"LineExtensionAmount {fig(t.line_extension_amount)} - AllowanceTotalAmount "
                f"{money(allowance_total)} + ChargeTotalAmount {money(charge_total)} "
                f"= {money(expected)}"
            )

        errors.extend(self._check_vat())

        expected = t.tax_exclusive_amount + self.tax_amount
        if t.tax_inclusive_amount != expected:
            errors.append(
                f"{label}: TaxInclusiveAmount {fig(t.tax_inclusive_amount)} is not "
                f"TaxExclusiveAmount {fig(t.tax_exclusive_amount)} + TaxAmount "
                f"{fig(self.tax_amount)} = {money(expected)}"
            )

        expected = t.tax_inclusive_amount - t.prepaid_amount + t.payable_rounding_amount
        if t.payable_amount != expected:
            errors.append(
                f"{label}: PayableAmount {fig(t.payable_amount)} is not TaxInclusiveAmount "
                f"{fig(t.tax_inclusive_amount)} - PrepaidAmount {money(t.prepaid_amount)} "
                f"+ PayableRoundingAmount {money(t.payable_rounding_amount)} = {money(expected)}"
            )
        return errors

    def _check_vat(self) -> list[str]:
        errors: list[str] = []
        label = self.label
        fig = self._figure
        money = self._money
        unit = minor_unit(self.currency)

        subtotal_sum = sum((s.tax_amount for s in self.tax_subtotals), ZERO)
        if self.tax_subtotals and subtotal_sum != self.tax_amount:
            errors.append(
                f"{label}: TaxAmount {fig(self.tax_amount)} is not the sum of the VAT "
                f"subtotals {money(subtotal_sum)}"
            )

        subtotal_keys = {s.vat_key for s in self.tax_subtotals}
        for line in self.lines:
            if line.vat_key not in subtotal_keys:
                errors.append(
                    f"{label} line {line.line_id}: no VAT subtotal for "
                    f"{_vat_name(*line.vat_key)}"
                )
                subtotal_keys.add(line.vat_key)  # one message per rate
        for ac in self.allowance_charges:
            key = _ac_key(ac)
            if key is None:
                continue
            if key not in subtotal_keys:
                errors.append(
                    f"{label}: no VAT subtotal for {_vat_name(*key)} "
                    f"(document-level {ac.kind} {fig(ac.amount)})"
                )
                subtotal_keys.add(key)

        for sub in self.tax_subtotals:
            name = _vat_name(*sub.vat_key)
            nets = sum((ln.net_amount for ln in self.lines if ln.vat_key == sub.vat_key), ZERO)
            allowances = sum(
                (ac.amount for ac in self.allowance_charges
                 if not ac.is_charge and _ac_key(ac) == sub.vat_key),
                ZERO,
            )
            charges = sum(
                (ac.amount for ac in self.allowance_charges
                 if ac.is_charge and _ac_key(ac) == sub.vat_key),
                ZERO,
            )
            expected = nets - allowances + charges
            if sub.taxable_amount != expected:
                text = (
                    f"{label} VAT {name}: TaxableAmount {fig(sub.taxable_amount)} is not "
                    f"the net of its lines {money(nets)}"
                )
                if allowances:
                    text += f" - allowances {money(allowances)}"
                if charges:
                    text += f" + charges {money(charges)}"
                if allowances or charges:
                    text += f" = {money(expected)}"
                errors.append(text)
            tax = round_money(sub.taxable_amount * sub.vat_rate / 100, self.currency)
            if abs(sub.tax_amount - tax) > unit:
                errors.append(
                    f"{label} VAT {name}: TaxAmount {fig(sub.tax_amount)} is not TaxableAmount "
                    f"{fig(sub.taxable_amount)} x {format_quantity(sub.vat_rate)}% = {money(tax)}"
                )
        return errors

    # ----------------------------------------------------------------- spreading

    def line_amounts(self) -> list[LineAmount]:
        """Each line's net amount after spreading the document-level allowances and charges.

        Each document-level allowance (negative) or charge (positive) is spread over the
        lines of its own VAT category and rate, in proportion to their signed net amounts
        (every line gets the same percentage, so a line taken back is credited at the
        discounted price), with `ledger.money.allocate` (largest remainder): the shares are whole
        minor units and sum exactly to the allowance or charge, so the amounts sum exactly
        to TaxExclusiveAmount when the document adds up, and the amounts at each rate to
        that rate's TaxableAmount. An allowance or charge without a VAT category is spread
        over all lines. One whose rate no line has cannot be spread: `UblError`
        (`check_arithmetic()` reports the same message).
        """
        cur = self.currency
        spread = [round_money(ZERO, cur) for _ in self.lines]
        for ac in self.allowance_charges:
            key = _ac_key(ac)
            if key is None:
                indexes = list(range(len(self.lines)))
            else:
                indexes = [i for i, line in enumerate(self.lines) if line.vat_key == key]
            if not indexes:
                raise UblError(self._unspreadable(ac))
            parts = allocate(ac.effect, [self.lines[i].net_amount for i in indexes], cur)
            for i, part in zip(indexes, parts):
                spread[i] += part
        return [
            LineAmount(
                line_id=line.line_id,
                vat_category=line.vat_category,
                vat_rate=line.vat_rate,
                net=line.net_amount,
                spread=share,
                amount=line.net_amount + share,
            )
            for line, share in zip(self.lines, spread)
        ]

    # ----------------------------------------------------------------- figures

    def _doc(self, value: Decimal) -> Decimal:
        """A quantity or amount as it stands in the document (credit notes un-negated)."""
        return -value if self.is_credit_note else value

    def _figure(self, value: Decimal) -> str:
        """A figure read from the document, as written there."""
        return f"{self._doc(value):f}"

    def _money(self, value: Decimal) -> str:
        """A computed amount, at the currency's minor unit."""
        return f"{round_money(self._doc(value), self.currency):f}"

    def _unspreadable(self, ac: AllowanceCharge) -> str:
        """A document-level allowance or charge that adds up but that no line can take: pledger
        books it as part of the lines at its VAT rate (DOMAIN.md: every amount on an order
        line), and none has that rate. Not an error of the document's arithmetic."""
        return (
            f"{self.label}: its document-level {ac.kind} {self._figure(ac.amount)} is at VAT "
            f"{_vat_name(ac.vat_category, ac.vat_rate)}, which none of its lines has: pledger books {'an' if ac.kind == 'allowance' else 'a'} {ac.kind} "
            f"as part of the lines at its rate; book this invoice outside pledger, or ask the supplier for one that "
            f"puts the {ac.kind} on a line"
        )


def _ac_key(ac: AllowanceCharge) -> tuple[str, Decimal] | None:
    if ac.vat_category is None:
        return None
    return (ac.vat_category, ac.vat_rate if ac.vat_rate is not None else ZERO)


def _vat_name(category: str | None, rate: Decimal | None) -> str:
    return f"{category} {format_quantity(rate if rate is not None else ZERO)}%"


# --------------------------------------------------------------------------- parsing


def parse_invoice(path_or_bytes: Source) -> UblInvoice:
    """Read a Peppol BIS Billing 3.0 Invoice or CreditNote (UBL 2.1).

    `path_or_bytes` is the document itself (bytes) or a path to it (str or PathLike).
    Raises `UblError` for malformed XML, an unknown root element, a missing required
    element, a number that is not a plain decimal and an amount in another currency.
    A credit note comes back negated: see the module docstring.
    """
    root, where = _load(path_or_bytes)
    tag = etree.QName(root)
    if (tag.namespace, tag.localname) == (INVOICE_NS, "Invoice"):
        is_credit_note = False
    elif (tag.namespace, tag.localname) == (CREDIT_NOTE_NS, "CreditNote"):
        is_credit_note = True
    else:
        raise UblError(
            f"{where}: unknown root element {root.tag}: expected a UBL 2.1 Invoice "
            f"({{{INVOICE_NS}}}Invoice) or CreditNote ({{{CREDIT_NOTE_NS}}}CreditNote)"
        )
    return _Reader(root, where, is_credit_note).read()


def _load(source: Source) -> tuple[etree._Element, str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        where, data = "UBL document", bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        where = path.name
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise UblError(f"{path}: cannot read the file: {exc.strerror or exc}") from exc
    else:
        raise TypeError(f"parse_invoice takes bytes or a path, not {type(source).__name__}")
    # A fresh parser per call: lxml parsers must not be shared between threads. huge_tree lifts
    # libxml2's 10 MB limit on one text node: an invoice carries its PDF (BG-24) in base64, and
    # one of 8 MB was refused as malformed XML. Entities stay unresolved, no network is read, and
    # libxml2 (2.11 and later) still refuses entity amplification (a "billion laughs") whatever
    # huge_tree says; the file is in memory already, whole.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise UblError(f"{where}: malformed XML: {exc}") from exc
    if root is None:
        raise UblError(f"{where}: malformed XML: no root element")
    _refuse_entities(root, where)
    return root, where


def _refuse_entities(root: etree._Element, where: str) -> None:
    """A DOCTYPE that declares entities, or names an external DTD that may, is refused.

    Peppol documents have no DOCTYPE. The parser resolves no entity and reads nothing from
    the network or the disk, so an entity's text was dropped without a word and the rest of
    the document booked: `<cbc:ID>&po;</cbc:ID>` read as no order reference."""
    info = root.getroottree().docinfo
    dtd = info.internalDTD
    names = [e.name for e in dtd.entities()] if dtd is not None else []  # general and parameter entities alike
    if names:
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        raise UblError(f"{where}: declares XML entities (DOCTYPE: {shown}); Peppol documents have none: refused")
    external = info.system_url or info.public_id
    if external:
        shown = external if len(external) <= 80 else external[:77] + "..."
        raise UblError(f"{where}: names an external DTD in its DOCTYPE ({shown}), which may declare XML entities; "
                       f"Peppol documents have none: refused")


class _Reader:
    """Reads one document; knows its label, currency and sign for the messages."""

    def __init__(self, root: etree._Element, where: str, is_credit_note: bool) -> None:
        self.root = root
        self.is_credit_note = is_credit_note
        self.label = where  # until the number is known
        self.currency = ""
        self.prefix = "CreditNote" if is_credit_note else "Invoice"

    # ---- primitives

    def _first(self, el: etree._Element, path: str) -> etree._Element | None:
        found = el.xpath(path, namespaces=NS)
        return found[0] if found else None

    def text(self, el: etree._Element, path: str) -> str | None:
        node = self._first(el, path)
        if node is None:
            return None
        value = (node.text or "").strip()
        return value or None

    def required(self, el: etree._Element, path: str, where: str = "") -> str:
        value = self.text(el, path)
        if value is None:
            raise UblError(f"{where or self.label}: missing required element {path}")
        return value

    def number(self, el: etree._Element, path: str, where: str = "",
               required: bool = True) -> Decimal | None:
        node = self._first(el, path)
        raw = None if node is None else (node.text or "").strip() or None
        if raw is None:
            if required:
                raise UblError(f"{where or self.label}: missing required element {path}")
            return None
        try:
            value = D(raw)
        except MoneyError as exc:
            raise UblError(
                f"{where or self.label}: {path} {raw!r} is not a plain decimal number"
            ) from exc
        return value

    def signed(self, value: Decimal | None) -> Decimal | None:
        if value is None or not self.is_credit_note:
            return value
        return -value

    def amount(self, el: etree._Element, path: str, where: str = "",
               required: bool = True, currency: str | None = None) -> Decimal | None:
        """An amount in the document currency (or `currency`), negated in a credit note."""
        value = self.number(el, path, where, required)
        if value is None:
            return None
        node = self._first(el, path)
        stated = (node.get("currencyID") or "").strip()
        wanted = currency or self.currency
        if stated and stated.upper() != wanted:
            raise UblError(
                f"{where or self.label}: {path} {value:f} is in {stated}, "
                f"the document currency is {wanted}"
            )
        return self.signed(value)

    def rate(self, el: etree._Element, category_path: str, where: str) -> tuple[str, Decimal]:
        """VAT category and rate. Category O (not subject to VAT) states none (Peppol BR-O-05,
        BR-O-10) and is read as 0; every other category states its rate (BR-S-05, BR-Z-05 ...)."""
        category = self.required(el, f"{category_path}/cbc:ID", where).upper()
        path = f"{category_path}/cbc:Percent"
        if category != "O" and self.text(el, path) is None:
            raise UblError(f"{where}: missing required element {path} "
                           f"(VAT category {category} states its rate; only O has none)")
        rate = self.number(el, path, where, required=False)
        return category, (rate if rate is not None else ZERO)

    def day(self, el: etree._Element, path: str, where: str) -> date:
        raw = self.required(el, path, where)
        try:
            if not _DATE.fullmatch(raw):
                raise ValueError(raw)
            return date.fromisoformat(raw)
        except ValueError as exc:
            raise UblError(f"{where}: {path} {raw!r} is not a date (YYYY-MM-DD)") from exc

    # ---- document

    def read(self) -> UblInvoice:
        root = self.root
        number = self.required(root, "cbc:ID", self.label)
        self.label = f"{'credit note' if self.is_credit_note else 'invoice'} {number}"
        issue_date = self.day(root, "cbc:IssueDate", self.label)
        raw_currency = self.required(root, "cbc:DocumentCurrencyCode", self.label)
        try:
            self.currency = currency_code(raw_currency)
        except MoneyError as exc:
            raise UblError(
                f"{self.label}: DocumentCurrencyCode {raw_currency!r} is not a known currency"
            ) from exc
        type_code = self.type_code()
        tax_currency = self.text(root, "cbc:TaxCurrencyCode")
        if tax_currency is not None:
            tax_currency = tax_currency.upper()

        seller_el = self._first(root, "cac:AccountingSupplierParty/cac:Party")
        if seller_el is None:
            raise UblError(
                f"{self.label}: missing required element cac:AccountingSupplierParty/cac:Party"
            )
        seller = self.party(seller_el, "seller")
        buyer_el = self._first(root, "cac:AccountingCustomerParty/cac:Party")
        buyer = self.party(buyer_el, "buyer") if buyer_el is not None else None

        allowance_charges = tuple(
            self.allowance_charge(el, self.label, document_level=True)
            for el in root.xpath("cac:AllowanceCharge", namespaces=NS)
        )

        tax_amount, subtotals, tax_in_tax_currency = self.tax_total(tax_currency)
        totals = self.monetary_total()

        line_path = "cac:CreditNoteLine" if self.is_credit_note else "cac:InvoiceLine"
        line_elements = root.xpath(line_path, namespaces=NS)
        if not line_elements:
            raise UblError(f"{self.label}: missing required element {line_path}")
        lines = tuple(self.line(el) for el in line_elements)
        seen: dict[str, int] = {}
        for n, line in enumerate(lines, 1):  # BT-126: "a unique identifier for the individual line"
            if line.line_id in seen:
                raise UblError(f"{self.label}: lines {seen[line.line_id]} and {n} have the same ID '{line.line_id}' "
                               f"(BT-126): a document's line IDs are unique, and pledger names its lines by them; "
                               f"ask the supplier for a corrected document")
            seen[line.line_id] = n

        return UblInvoice(
            is_credit_note=self.is_credit_note,
            number=number,
            issue_date=issue_date,
            currency=self.currency,
            seller=seller,
            lines=lines,
            totals=totals,
            tax_amount=tax_amount,
            tax_subtotals=subtotals,
            allowance_charges=allowance_charges,
            order_reference=self.text(root, "cac:OrderReference/cbc:ID"),
            billing_reference=self.text(
                root, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID"
            ),
            buyer_reference=self.text(root, "cbc:BuyerReference"),
            buyer=buyer,
            tax_currency=tax_currency,
            tax_amount_in_tax_currency=tax_in_tax_currency,
            type_code=type_code,
        )

    def type_code(self) -> str:
        """BT-3, refused unless it bills (credits) goods or services as order-line quantities.

        An Invoice takes 380, 383, 384, 389 and 751; a CreditNote 381, 396, 261, 262 and 81
        (`INVOICE_TYPE_CODES`, `CREDIT_NOTE_TYPE_CODES`). A credit note sent as an Invoice
        (type 381 and the like) would be booked as a debt, a prepayment invoice (386) would
        mark the units invoiced before they are: both are refused, saying what to do.
        """
        element = "cbc:CreditNoteTypeCode" if self.is_credit_note else "cbc:InvoiceTypeCode"
        code = self.required(self.root, element, self.label)
        taken = CREDIT_NOTE_TYPE_CODES if self.is_credit_note else INVOICE_TYPE_CODES
        if code in taken:
            return code
        what = f"{element.split(':')[1]} {code}"
        if not self.is_credit_note and code in _CREDIT_CODES_IN_AN_INVOICE:
            raise UblError(
                f"{self.label}: {what} says it is a credit note, sent as an Invoice document: refused, pledger "
                f"would book it as a debt; a credit note must come as a CreditNote document: ask the supplier for one"
            )
        if self.is_credit_note and code in INVOICE_TYPE_CODES:
            raise UblError(
                f"{self.label}: {what} says it is an invoice ({INVOICE_TYPE_CODES[code]}), sent as a CreditNote "
                f"document: refused; an invoice must come as an Invoice document: ask the supplier for one"
            )
        if code in _PREPAYMENT_CODES:
            raise UblError(
                f"{self.label}: {what} is a {_PREPAYMENT_CODES[code]}: refused, a prepayment is not matched to "
                f"order lines (its units are not invoiced yet); book it outside pledger, and import the final "
                f"invoice, which deducts it as PrepaidAmount"
            )
        name = _NOT_QUANTITIES.get(code, "a document type pledger does not book")
        kinds = ", ".join(taken)
        raise UblError(
            f"{self.label}: {what} ({name}) does not bill order-line quantities: refused; pledger imports "
            f"{'credit notes' if self.is_credit_note else 'invoices'} of type {kinds}; book this one outside pledger"
        )

    def party(self, el: etree._Element, role: str) -> Party:
        where = f"{self.label} {role}"
        name = self.text(el, "cac:PartyLegalEntity/cbc:RegistrationName") or self.text(
            el, "cac:PartyName/cbc:Name"
        )
        if name is None:
            raise UblError(
                f"{where}: missing required element cac:PartyLegalEntity/cbc:RegistrationName "
                f"(or cac:PartyName/cbc:Name)"
            )
        endpoint = self._first(el, "cbc:EndpointID")
        endpoint_id = self.text(el, "cbc:EndpointID")
        scheme = endpoint.get("schemeID") if endpoint is not None else None
        vat = self.text(el, "cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']/cbc:CompanyID")
        return Party(
            name=name,
            endpoint_id=endpoint_id,
            endpoint_scheme=scheme.strip() if scheme else None,
            vat_number=vat.replace(" ", "").upper() if vat else None,
        )

    def allowance_charge(self, el: etree._Element, where: str,
                         document_level: bool) -> AllowanceCharge:
        indicator = self.required(el, "cbc:ChargeIndicator", where).lower()
        if indicator not in ("true", "false"):
            raise UblError(f"{where}: cbc:ChargeIndicator {indicator!r} is not true or false")
        is_charge = indicator == "true"
        kind = "charge" if is_charge else "allowance"
        where = f"{where} {kind}"
        category = rate = None
        if document_level and self._first(el, "cac:TaxCategory") is not None:
            category, rate = self.rate(el, "cac:TaxCategory", where)
        return AllowanceCharge(
            is_charge=is_charge,
            amount=self.amount(el, "cbc:Amount", where),
            reason=self.text(el, "cbc:AllowanceChargeReason"),
            reason_code=self.text(el, "cbc:AllowanceChargeReasonCode"),
            base_amount=self.amount(el, "cbc:BaseAmount", where, required=False),
            multiplier_pct=self.number(el, "cbc:MultiplierFactorNumeric", where, required=False),
            vat_category=category,
            vat_rate=rate,
        )

    def tax_total(
        self, tax_currency: str | None
    ) -> tuple[Decimal, tuple[TaxSubtotal, ...], Decimal | None]:
        """The TaxTotal in the document currency (with subtotals), and the one in TaxCurrencyCode."""
        ours = other = None
        for el in self.root.xpath("cac:TaxTotal", namespaces=NS):
            node = self._first(el, "cbc:TaxAmount")
            stated = (node.get("currencyID") or "").strip().upper() if node is not None else ""
            if not stated or stated == self.currency:
                ours = ours if ours is not None else el
            elif tax_currency is not None and stated == tax_currency:
                other = el
            else:
                raise UblError(
                    f"{self.label}: cac:TaxTotal/cbc:TaxAmount is in {stated}, the document "
                    f"currency is {self.currency}"
                )
        if ours is None:
            raise UblError(
                f"{self.label}: missing required element cac:TaxTotal/cbc:TaxAmount "
                f"in {self.currency}"
            )
        amount = self.amount(ours, "cbc:TaxAmount")
        subtotals = []
        for sub in ours.xpath("cac:TaxSubtotal", namespaces=NS):
            where = f"{self.label} cac:TaxSubtotal"
            category, rate = self.rate(sub, "cac:TaxCategory", where)
            where = f"{self.label} VAT {_vat_name(category, rate)}"
            subtotals.append(
                TaxSubtotal(
                    taxable_amount=self.amount(sub, "cbc:TaxableAmount", where),
                    tax_amount=self.amount(sub, "cbc:TaxAmount", where),
                    vat_category=category,
                    vat_rate=rate,
                )
            )
        in_tax_currency = None
        if other is not None:
            in_tax_currency = self.amount(other, "cbc:TaxAmount", currency=tax_currency)
        return amount, tuple(subtotals), in_tax_currency

    def monetary_total(self) -> MonetaryTotal:
        el = self._first(self.root, "cac:LegalMonetaryTotal")
        if el is None:
            raise UblError(f"{self.label}: missing required element cac:LegalMonetaryTotal")
        where = f"{self.label} cac:LegalMonetaryTotal"
        zero = round_money(ZERO, self.currency)
        prepaid = self.amount(el, "cbc:PrepaidAmount", where, required=False)
        rounding = self.amount(el, "cbc:PayableRoundingAmount", where, required=False)
        return MonetaryTotal(
            line_extension_amount=self.amount(el, "cbc:LineExtensionAmount", where),
            tax_exclusive_amount=self.amount(el, "cbc:TaxExclusiveAmount", where),
            tax_inclusive_amount=self.amount(el, "cbc:TaxInclusiveAmount", where),
            payable_amount=self.amount(el, "cbc:PayableAmount", where),
            allowance_total_amount=self.amount(el, "cbc:AllowanceTotalAmount", where, required=False),
            charge_total_amount=self.amount(el, "cbc:ChargeTotalAmount", where, required=False),
            prepaid_amount=prepaid if prepaid is not None else zero,
            payable_rounding_amount=rounding if rounding is not None else zero,
        )

    def line(self, el: etree._Element) -> UblLine:
        line_id = self.required(el, "cbc:ID", f"{self.label} line without cbc:ID")
        where = f"{self.label} line {line_id}"
        quantity_path = "cbc:CreditedQuantity" if self.is_credit_note else "cbc:InvoicedQuantity"
        quantity = self.number(el, quantity_path, where)
        unit_code = (self._first(el, quantity_path).get("unitCode") or "").strip()
        if not unit_code:
            raise UblError(f"{where}: missing required attribute unitCode on {quantity_path}")
        price = self.number(el, "cac:Price/cbc:PriceAmount", where)
        price_node = self._first(el, "cac:Price/cbc:PriceAmount")
        price_currency = (price_node.get("currencyID") or "").strip().upper()
        if price_currency and price_currency != self.currency:
            raise UblError(
                f"{where}: cac:Price/cbc:PriceAmount {price:f} is in {price_currency}, "
                f"the document currency is {self.currency}"
            )
        base_quantity = self.number(el, "cac:Price/cbc:BaseQuantity", where, required=False)
        if base_quantity is None:
            base_quantity = _ONE
        elif base_quantity <= ZERO:
            raise UblError(f"{where}: cac:Price/cbc:BaseQuantity {base_quantity:f} is not positive")
        category, rate = self.rate(el, "cac:Item/cac:ClassifiedTaxCategory", where)
        return UblLine(
            line_id=line_id,
            quantity=self.signed(quantity),
            unit_code=unit_code,
            price=price,
            net_amount=self.amount(el, "cbc:LineExtensionAmount", where),
            vat_category=category,
            vat_rate=rate,
            base_quantity=base_quantity,
            order_line_reference=self.text(el, "cac:OrderLineReference/cbc:LineID"),
            seller_item_id=self.text(el, "cac:Item/cac:SellersItemIdentification/cbc:ID"),
            buyer_item_id=self.text(el, "cac:Item/cac:BuyersItemIdentification/cbc:ID"),
            item_name=self.text(el, "cac:Item/cbc:Name"),
            allowance_charges=tuple(
                self.allowance_charge(ac, where, document_level=False)
                for ac in el.xpath("cac:AllowanceCharge", namespaces=NS)
            ),
        )
