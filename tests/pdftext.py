"""The text of a PDF, page by page, as a reader's copy-and-paste would give it (pypdf)."""

from __future__ import annotations

from pathlib import Path

import pypdf


def page_texts(path: Path) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(str(path)).pages]
