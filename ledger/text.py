"""Text pledger keeps and prints on one line: names, codes, reasons, selections."""

from __future__ import annotations


def first_control(value: str) -> str | None:
    """The first control character of `value` (C0, line breaks included, or DEL), or None:
    what keeps a name, code or reason from being one line of text, and what a terminal that
    shows it would take for an escape sequence."""
    return next((ch for ch in value if ord(ch) < 0x20 or ord(ch) == 0x7F), None)


def control_named(ch: str) -> str:
    """A control character `ch` as a refusal names it: "a line break" (CR or LF), else "a
    control character (U+001B)": the CLI's options, the CSV cells, the company's name."""
    return "a line break" if ch in "\r\n" else f"a control character (U+{ord(ch):04X})"
