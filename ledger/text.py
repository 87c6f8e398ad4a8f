"""Text pledger keeps and prints on one line: names, codes, reasons, selections."""

from __future__ import annotations


def first_control(value: str) -> str | None:
    """The first control character of `value` (C0, line breaks included, or DEL), or None:
    what keeps a name, code or reason from being one line of text, and what a terminal that
    shows it would take for an escape sequence."""
    return next((ch for ch in value if ord(ch) < 0x20 or ord(ch) == 0x7F), None)
