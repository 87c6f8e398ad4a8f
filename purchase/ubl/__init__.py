"""UBL 2.1 / Peppol BIS 3: reading purchase invoices and credit notes, writing orders.

Design note
-----------
What it owns: the translation between Peppol BIS 3 XML and plain, frozen Python values.
The parser and the order writer (`invoice.py`, `order.py`) touch no database, Session or
ledger account. `importer.py` is the one module here that does: it matches parsed invoice
lines to order lines and posts them through `purchase.documents.DocumentPoster`, the same
path as the CSV import.

- `invoice.parse_invoice(path_or_bytes) -> UblInvoice` reads a Peppol BIS Billing 3.0
  `Invoice` or `CreditNote` with lxml and explicit XPaths. Credit notes come back with
  negative quantities and amounts (a credit note is a negative invoice).
  `UblInvoice.check_arithmetic()` returns every arithmetic error as a precise message
  (empty list = fine); `UblInvoice.line_amounts()` spreads document-level allowances and
  charges over the lines with `ledger.money.allocate`, so the parts sum exactly.
- `order.write_order(OrderDoc) -> bytes` writes a Peppol BIS Ordering 3 `Order`, its
  elements in the order of the UBL 2.1 XSD sequences, its amounts computed exactly.

What it may import: `ledger.money` (the one Decimal constructor `D`, `round_money`,
`allocate`) and lxml. Never a float, never the database.

Invariants: every number is a `decimal.Decimal` built by `D`; amounts are rounded once,
half-up, to the currency's minor unit; spreading an amount over lines never loses or
gains a minor unit. Schema validation (OASIS XSDs in ../shared/ubl-2.1) is done by the
tests, not at run time: the schemas are not part of the project.
"""

from purchase.ubl.errors import UblError
from purchase.ubl.invoice import (
    AllowanceCharge,
    LineAmount,
    MonetaryTotal,
    Party,
    TaxSubtotal,
    UblInvoice,
    UblLine,
    parse_invoice,
)
from purchase.ubl.order import OrderDoc, OrderLine, OrderParty, write_order

__all__ = [
    "AllowanceCharge",
    "LineAmount",
    "MonetaryTotal",
    "OrderDoc",
    "OrderLine",
    "OrderParty",
    "Party",
    "TaxSubtotal",
    "UblError",
    "UblInvoice",
    "UblLine",
    "parse_invoice",
    "write_order",
]
