"""The text of a PDF, page by page, as a reader's copy-and-paste would give it (pypdf)."""

from __future__ import annotations

from pathlib import Path

import pypdf


def page_texts(path: Path) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(str(path)).pages]


def text_positions(path: Path, page: int = 0) -> list[tuple[str, float, float]]:
    """Each piece of text the page draws, stripped, with where it begins: (text, x, y) in
    points from the page's bottom left."""
    found = []

    def visit(text, cm, tm, _font, _size):
        if text.strip():
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            found.append((text.strip(), x, y))

    pypdf.PdfReader(str(path)).pages[page].extract_text(visitor_text=visit)
    return found
