"""JSON written as a stream: a report of a million lines without holding its text.

Data may hold, besides lists, sized re-iterable collections (a `ledger.spill.Spill`);
those are written as JSON lists, read item by item.
"""

from __future__ import annotations

import functools
import json
from typing import Iterator


def _is_lazy(value) -> bool:
    """A sized, re-iterable collection that is not a list (a `ledger.spill.Spill`)."""
    return hasattr(value, "__iter__") and hasattr(value, "__len__") and not isinstance(
        value, (str, bytes, dict, list, tuple))


def _holds_lazy(value) -> bool:
    if isinstance(value, dict):
        return any(_holds_lazy(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_lazy(v) for v in value)
    return _is_lazy(value)


def json_chunks(data, indent: int = 2, level: int = 0, default=None) -> Iterator[str]:
    """The text of `json.dumps(data, indent=indent, ensure_ascii=False)` in pieces,
    reading kept collections as they are written.

    `data` may hold sized iterables besides lists (a report's lines kept on disk), which
    are written as lists without being loaded. Joined, the pieces are byte for byte what
    `json.dumps` writes for the same data with lists (a test holds it to that): what
    holds no such collection, and every item of one, is encoded by `json.dumps` whole
    and moved right to its level.
    """
    if not _holds_lazy(data):
        yield _dumps_at(data, indent, level, default)
        return
    pad = "\n" + " " * (indent * (level + 1))
    end = "\n" + " " * (indent * level)
    if isinstance(data, dict):
        first = True
        for key, value in data.items():
            yield ("{" if first else ",") + pad + json.dumps(key, ensure_ascii=False) + ": "
            first = False
            yield from json_chunks(value, indent, level + 1, default)
        yield end + "}"
        return
    lazy = _is_lazy(data)
    first = True
    for item in data:
        yield ("[" if first else ",") + pad
        first = False
        if lazy:  # the items of a kept collection hold none themselves
            yield _dumps_at(item, indent, level + 1, default)
        else:
            yield from json_chunks(item, indent, level + 1, default)
    yield "[]" if first else end + "]"


def _dumps_at(value, indent: int, level: int, default) -> str:
    text = _encoder(indent, default).encode(value)
    return text.replace("\n", "\n" + " " * (indent * level)) if level else text


@functools.lru_cache(maxsize=8)
def _encoder(indent: int, default) -> json.JSONEncoder:
    """One encoder per layout: `json.dumps` would make one per item."""
    return json.JSONEncoder(indent=indent, default=default, ensure_ascii=False)
