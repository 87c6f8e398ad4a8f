"""Codes a spreadsheet changed: 00123 saved as 123 when a cell held it as a number.

Used only where a code was not found, to say which code the user may have meant; a code
that exists is never second-guessed (123 and 00123 may both be real orders: the close-out's
edits file compares what its row shows with the line, `matching.closeout.shown_differences`).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session


def zeros_dropped(session: Session, column, code: str, what: str) -> str:
    """Where `code` is another `what`'s code (the `column`, as `PurchaseOrder.number`)
    without its leading zeros: that one named, as the end of a refusal; else nothing."""
    bare = code.lstrip("0")
    if not bare or not code[:1].isdigit():
        return ""
    found = session.scalars(select(column).where(func.ltrim(column, "0") == bare, column != code)
                            .order_by(column).limit(3)).all()
    if not found:
        return ""
    return _there_is(what, found, "did a spreadsheet drop the leading zeros?")


def other_cases(session: Session, column, code: str) -> list[str]:
    """The codes of `column` that are `code` but for upper and lower case (PO-17 for po-17), at most three,
    each once (a column of names repeats them: the close-outs' users)."""
    return session.scalars(select(column).where(func.lower(column) == code.lower(), column != code)
                           .distinct().order_by(column).limit(3)).all()


def case_differs(session: Session, column, code: str, what: str) -> str:
    """Where `code` is another `what`'s code but for upper and lower case (po-17 typed for
    PO-17): that one named, as the end of a refusal; else nothing. Codes compare exactly."""
    found = other_cases(session, column, code)
    if not found:
        return ""
    return _there_is(what, found, "codes compare exactly, case and all")


def _there_is(what: str, found, why: str) -> str:
    """The end of a refusal naming the codes `found` that the user may have meant, and `why`:
    " (order 00123 is: did a spreadsheet drop the leading zeros?)"."""
    return f" ({what} {' and '.join(found)} {'is' if len(found) == 1 else 'are'}: {why})"
