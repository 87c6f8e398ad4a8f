"""The OASIS UBL 2.1 schemas for the UBL tests, loaded once per test session.

The schemas are not part of the project: they live in the `shared` folder beside the
checkout (`../shared/ubl-2.1`), or where PLEDGER_UBL_SCHEMAS points. Without them the
schema tests skip with the reason, except under CI (CI set), where they fail: CI must
not skip them. Loading an XSD takes about a second, so each is loaded once and cached
at module scope.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from lxml import etree

SAMPLES = Path(__file__).resolve().parent / "samples"

_DEFAULT_SCHEMAS = Path(__file__).resolve().parents[3] / "shared" / "ubl-2.1"
_SCHEMA_FILES = {
    "Invoice": "UBL-Invoice-2.1.xsd",
    "CreditNote": "UBL-CreditNote-2.1.xsd",
    "Order": "UBL-Order-2.1.xsd",
}
_LOADED: dict[str, etree.XMLSchema] = {}


def schema_folder() -> Path:
    configured = os.environ.get("PLEDGER_UBL_SCHEMAS")
    return Path(configured) if configured else _DEFAULT_SCHEMAS


def ubl_schema(document: str) -> etree.XMLSchema:
    """The XMLSchema for "Invoice", "CreditNote" or "Order"; skips (fails under CI) without it."""
    if document not in _LOADED:
        folder = schema_folder()
        path = folder / "xsd" / "maindoc" / _SCHEMA_FILES[document]
        if not path.is_file():
            reason = f"UBL 2.1 schemas not found at {folder}: these tests need ../shared/ubl-2.1"
            if os.environ.get("CI"):
                pytest.fail(f"CI must run the UBL schema tests, but {reason}")
            pytest.skip(reason)
        _LOADED[document] = etree.XMLSchema(etree.parse(str(path)))
    return _LOADED[document]


def assert_schema_valid(document: str, xml: bytes | Path) -> None:
    schema = ubl_schema(document)
    tree = etree.parse(str(xml)) if isinstance(xml, Path) else etree.fromstring(xml).getroottree()
    if not schema.validate(tree):
        errors = "\n".join(f"line {e.line}: {e.message}" for e in schema.error_log)
        pytest.fail(f"not a valid UBL 2.1 {document}:\n{errors}")


@pytest.fixture
def schema_valid():
    """`schema_valid("Invoice", path_or_bytes)` fails the test with the schema's errors."""
    return assert_schema_valid
