"""Writing purchase orders as Peppol BIS Ordering 3 documents (UBL 2.1 Order).

`write_order(OrderDoc) -> bytes` writes the elements in the order of the UBL 2.1 XSD
sequences (`OrderType` in maindoc/UBL-Order-2.1.xsd, `LineItemType`, `PartyType`,
`ItemType`, `MonetaryTotalType` in common/UBL-CommonAggregateComponents-2.1.xsd): the
schema rejects any other order.

Amounts, per line, rounded half-up to the currency's minor unit:

    gross    = round(quantity x unit_price)
    p        = unit_price x (100 - discount_pct) / 100, kept to 6 decimals (`net_price`)
    net      = round(quantity x p)                         LineExtensionAmount
    discount = gross - net                     a line AllowanceCharge (reason code 95)

so `net` is DOMAIN.md's `value(Q)` with p as the books keep it (a full receipt posts it), and
`gross - discount = net` holds exactly as Peppol asks. The allowance states its percentage and gross as its
MultiplierFactorNumeric and BaseAmount only where discount = gross x percentage / 100 within
Peppol's 0.02 (PEPPOL-T01-R022); otherwise the percentage is in its reason text. For the document:

    LineExtensionAmount = TaxExclusiveAmount = sum of the line nets
    TaxAmount           = sum over VAT category and rate of round(nets at that rate x rate / 100)
    TaxInclusiveAmount  = PayableAmount = TaxExclusiveAmount + TaxAmount

The supplier's `code` (our number for them) goes to SellerSupplierParty's
CustomerAssignedAccountID ("assigned by the customer"); a line's `item_code` (our item)
to BuyersItemIdentification, its optional `supplier_item_code` to SellersItemIdentification.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from lxml import etree

from ledger.money import ZERO, D, MoneyError, currency_code, format_quantity, round_money
from purchase.orders import net_price
from purchase.settings import DEFAULT_ENDPOINT_SCHEME
from purchase.ubl.errors import UblError
from purchase.ubl.invoice import CAC, CBC

ORDER_NS = "urn:oasis:names:specification:ubl:schema:xsd:Order-2"
CUSTOMIZATION_ID = "urn:fdc:peppol.eu:poacc:trns:order:3"
PROFILE_ID = "urn:fdc:peppol.eu:poacc:bis:ordering:3"
ORDER_TYPE_CODE = "220"  # UNCL1001: Order
DISCOUNT_REASON_CODE = "95"  # UNCL5189: Discount
HUNDRED = D(100)
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")  # XML 1.0 Char, negated
_PARTY_TEXT = (("name", "name"), ("VAT number", "vat_number"), ("endpoint", "endpoint_id"),
               ("endpoint scheme", "endpoint_scheme"), ("code", "code"))
_LINE_TEXT = (("line id", "line_id"), ("item code", "item_code"), ("description", "description"),
              ("unit", "unit_code"), ("VAT category", "vat_category"), ("supplier item code", "supplier_item_code"))
PEPPOL_SLACK = D("0.02")  # the tolerance of the Peppol BIS Ordering 3 rules on amounts (PEPPOL-T01-R022, R024)


def _decimal(owner: object, name: str, where: str) -> None:
    """Pass a field of a frozen dataclass through `D` (no floats), naming it on failure."""
    try:
        object.__setattr__(owner, name, D(getattr(owner, name)))
    except MoneyError as exc:
        raise UblError(f"{where}: {name}: {exc}") from exc


@dataclass(frozen=True, kw_only=True)
class OrderParty:
    """Buyer or supplier. `endpoint_scheme` is the Peppol EAS code (0208: Belgian
    enterprise number, 0106: Dutch KvK number, 9925/9944: BE/NL VAT number)."""

    name: str
    vat_number: str | None = None
    endpoint_id: str | None = None
    endpoint_scheme: str = DEFAULT_ENDPOINT_SCHEME
    code: str | None = None


@dataclass(frozen=True, kw_only=True)
class OrderLine:
    line_id: str
    item_code: str
    description: str
    quantity: Decimal
    unit_code: str = "C62"
    unit_price: Decimal
    discount_pct: Decimal = ZERO
    vat_rate: Decimal
    expected_date: date | None = None
    vat_category: str | None = None  # default: S above 0 %, Z at 0 %
    supplier_item_code: str | None = None

    def __post_init__(self) -> None:
        where = f"order line {self.line_id}"
        for name in ("quantity", "unit_price", "discount_pct", "vat_rate"):
            _decimal(self, name, where)
        if self.quantity <= ZERO:
            raise UblError(f"{where}: quantity {self.quantity:f} is not positive")
        if self.unit_price < ZERO:
            raise UblError(f"{where}: unit_price {self.unit_price:f} is negative")
        if not ZERO <= self.discount_pct <= HUNDRED:
            raise UblError(f"{where}: discount_pct {self.discount_pct:f} is not between 0 and 100")
        if self.vat_rate < ZERO:
            raise UblError(f"{where}: vat_rate {self.vat_rate:f} is negative")
        if self.vat_category is None:
            object.__setattr__(self, "vat_category", "S" if self.vat_rate > ZERO else "Z")

    @property
    def vat_key(self) -> tuple[str, Decimal]:
        return (self.vat_category, self.vat_rate)


@dataclass(frozen=True)
class OrderTotals:
    """What AnticipatedMonetaryTotal and TaxTotal say."""

    line_extension_amount: Decimal
    tax_exclusive_amount: Decimal
    tax_amount: Decimal
    tax_inclusive_amount: Decimal
    payable_amount: Decimal


@dataclass(frozen=True, kw_only=True)
class OrderDoc:
    number: str
    issue_date: date
    currency: str
    buyer: OrderParty
    supplier: OrderParty
    lines: tuple[OrderLine, ...]
    note: str | None = None

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "currency", currency_code(self.currency))
        except MoneyError as exc:
            raise UblError(f"order {self.number}: {exc}") from exc
        object.__setattr__(self, "lines", tuple(self.lines))
        if not self.lines:
            raise UblError(f"order {self.number}: an order needs at least one line")
        ids = [line.line_id for line in self.lines]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise UblError(f"order {self.number}: line ids used twice: {', '.join(duplicates)}")

    def refuse_unwritable_text(self) -> None:
        """Every text the Order carries must be XML 1.0 characters: control characters other than
        tab and line breaks, surrogates and U+FFFE/U+FFFF cannot be written, not even escaped."""
        where = f"order {self.number}"
        fields: list[tuple[str, str, str | None]] = [(where, "number", self.number), (where, "note", self.note)]
        for role, party in (("buyer", self.buyer), ("supplier", self.supplier)):
            fields += [(f"{where} {role}", what, getattr(party, name)) for what, name in _PARTY_TEXT]
        for line in self.lines:
            fields += [(f"{where} line {line.line_id}", what, getattr(line, name)) for what, name in _LINE_TEXT]
        for place, what, value in fields:
            bad = _NOT_XML.search(value) if isinstance(value, str) else None
            if bad:
                raise UblError(f"{place}: {what} {value!r} holds U+{ord(bad.group()):04X}, a character an XML "
                               f"document cannot carry: correct the {what}")

    def gross_amount(self, line: OrderLine) -> Decimal:
        return round_money(line.quantity * line.unit_price, self.currency)

    def net_amount(self, line: OrderLine) -> Decimal:
        """LineExtensionAmount: quantity x the unit price after line discount as the books keep
        it (`purchase.orders.net_price`, 6 decimals), rounded once: what receiving the whole
        line posts, so that an invoice of what the order states posts no price difference."""
        return round_money(line.quantity * net_price(line.unit_price, line.discount_pct), self.currency)

    def discount_amount(self, line: OrderLine) -> Decimal:
        return self.gross_amount(line) - self.net_amount(line)

    def totals(self) -> OrderTotals:
        nets: dict[tuple[str, Decimal], Decimal] = {}
        for line in self.lines:
            nets[line.vat_key] = nets.get(line.vat_key, ZERO) + self.net_amount(line)
        net = round_money(sum(nets.values(), ZERO), self.currency)
        tax = round_money(
            sum(
                (round_money(amount * rate / HUNDRED, self.currency)
                 for (_, rate), amount in nets.items()),
                ZERO,
            ),
            self.currency,
        )
        return OrderTotals(
            line_extension_amount=net,
            tax_exclusive_amount=net,
            tax_amount=tax,
            tax_inclusive_amount=net + tax,
            payable_amount=net + tax,
        )


# --------------------------------------------------------------------------- writing


def _sub(parent: etree._Element, ns: str, name: str, text: str | None = None,
         **attributes: str) -> etree._Element:
    el = etree.SubElement(parent, f"{{{ns}}}{name}", attributes)
    if text is not None:
        el.text = text
    return el


def _cbc(parent: etree._Element, name: str, text: str, **attributes: str) -> etree._Element:
    return _sub(parent, CBC, name, text, **attributes)


def _cac(parent: etree._Element, name: str) -> etree._Element:
    return _sub(parent, CAC, name)


def _money(amount: Decimal, currency: str) -> str:
    return f"{round_money(amount, currency):f}"


def _party(parent: etree._Element, party: OrderParty) -> None:
    """cac:Party in PartyType order: EndpointID, PartyName, PartyTaxScheme, PartyLegalEntity."""
    el = _cac(parent, "Party")
    if party.endpoint_id:
        _cbc(el, "EndpointID", party.endpoint_id, schemeID=party.endpoint_scheme)
    _cbc(_cac(el, "PartyName"), "Name", party.name)
    if party.vat_number:
        scheme = _cac(el, "PartyTaxScheme")
        _cbc(scheme, "CompanyID", party.vat_number)
        _cbc(_cac(scheme, "TaxScheme"), "ID", "VAT")
    _cbc(_cac(el, "PartyLegalEntity"), "RegistrationName", party.name)


def _line(parent: etree._Element, order: OrderDoc, line: OrderLine) -> None:
    cur = order.currency
    item_line = _cac(_cac(parent, "OrderLine"), "LineItem")
    _cbc(item_line, "ID", line.line_id)
    _cbc(item_line, "Quantity", format_quantity(line.quantity), unitCode=line.unit_code)
    _cbc(item_line, "LineExtensionAmount", _money(order.net_amount(line), cur), currencyID=cur)
    if line.expected_date is not None:
        period = _cac(_cac(item_line, "Delivery"), "RequestedDeliveryPeriod")
        _cbc(period, "EndDate", line.expected_date.isoformat())
    if line.discount_pct:
        amount, base = order.discount_amount(line), order.gross_amount(line)
        # PEPPOL-T01-R022: with a percentage and a base amount, the amount is base x percentage / 100
        # within 0.02. The amount is gross less the net the books keep (a 6-decimal net price), which
        # on a large quantity is further off (100,000 x 0.0495 less 3.5 %: 173.20, not 173.25): then
        # the percentage goes in the reason text only, and the access point takes the order.
        with_percentage = abs(amount - base * line.discount_pct / HUNDRED) <= PEPPOL_SLACK
        allowance = _cac(item_line, "AllowanceCharge")
        _cbc(allowance, "ChargeIndicator", "false")
        _cbc(allowance, "AllowanceChargeReasonCode", DISCOUNT_REASON_CODE)
        _cbc(allowance, "AllowanceChargeReason",
             "Discount" if with_percentage else f"Discount {format_quantity(line.discount_pct)} %")
        if with_percentage:
            _cbc(allowance, "MultiplierFactorNumeric", format_quantity(line.discount_pct))
        _cbc(allowance, "Amount", _money(amount, cur), currencyID=cur)
        if with_percentage:
            _cbc(allowance, "BaseAmount", _money(base, cur), currencyID=cur)
    price = _cac(item_line, "Price")
    _cbc(price, "PriceAmount", f"{line.unit_price:f}", currencyID=cur)
    item = _cac(item_line, "Item")
    _cbc(item, "Name", line.description)
    _cbc(_cac(item, "BuyersItemIdentification"), "ID", line.item_code)
    if line.supplier_item_code:
        _cbc(_cac(item, "SellersItemIdentification"), "ID", line.supplier_item_code)
    category = _cac(item, "ClassifiedTaxCategory")
    _cbc(category, "ID", line.vat_category)
    _cbc(category, "Percent", format_quantity(line.vat_rate))
    _cbc(_cac(category, "TaxScheme"), "ID", "VAT")


def write_order(order: OrderDoc) -> bytes:
    """The Peppol BIS Ordering 3 XML of `order`, UTF-8 with an XML declaration.

    A text XML 1.0 cannot carry (U+FFFF, a control character) is refused with `UblError`
    naming the field (`OrderDoc.refuse_unwritable_text`): escaping cannot write it either."""
    order.refuse_unwritable_text()
    cur = order.currency
    totals = order.totals()
    root = etree.Element(
        f"{{{ORDER_NS}}}Order", nsmap={None: ORDER_NS, "cac": CAC, "cbc": CBC}
    )
    # OrderType sequence: CustomizationID, ProfileID, ID, IssueDate, OrderTypeCode, Note,
    # DocumentCurrencyCode, BuyerCustomerParty, SellerSupplierParty, TaxTotal,
    # AnticipatedMonetaryTotal, OrderLine.
    _cbc(root, "CustomizationID", CUSTOMIZATION_ID)
    _cbc(root, "ProfileID", PROFILE_ID)
    _cbc(root, "ID", order.number)
    _cbc(root, "IssueDate", order.issue_date.isoformat())
    _cbc(root, "OrderTypeCode", ORDER_TYPE_CODE)
    if order.note:
        _cbc(root, "Note", order.note)
    _cbc(root, "DocumentCurrencyCode", cur)
    _party(_cac(root, "BuyerCustomerParty"), order.buyer)
    seller = _cac(root, "SellerSupplierParty")
    if order.supplier.code:
        _cbc(seller, "CustomerAssignedAccountID", order.supplier.code)
    _party(seller, order.supplier)
    _cbc(_cac(root, "TaxTotal"), "TaxAmount", _money(totals.tax_amount, cur), currencyID=cur)
    monetary = _cac(root, "AnticipatedMonetaryTotal")
    _cbc(monetary, "LineExtensionAmount", _money(totals.line_extension_amount, cur), currencyID=cur)
    _cbc(monetary, "TaxExclusiveAmount", _money(totals.tax_exclusive_amount, cur), currencyID=cur)
    _cbc(monetary, "TaxInclusiveAmount", _money(totals.tax_inclusive_amount, cur), currencyID=cur)
    _cbc(monetary, "PayableAmount", _money(totals.payable_amount, cur), currencyID=cur)
    for line in order.lines:
        _line(root, order, line)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
