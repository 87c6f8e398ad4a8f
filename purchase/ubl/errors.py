"""The one exception of the UBL layer."""

from __future__ import annotations


class UblError(Exception):
    """A UBL document that cannot be read, or an Order that cannot be written.

    The message names the document (file or number) and the element at fault:
    malformed XML, a missing required element, a number that is not a plain
    decimal, an amount in another currency, an unknown root element.
    Arithmetic that does not add up is *not* raised: `UblInvoice.check_arithmetic()`
    returns those as a list, so that every error can be reported at once.
    """
