"""Printing what a command found: table for people, JSON for scripts, CSV for spreadsheets."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Callable, Iterator

import click

from ledger import jsonstream

from cli.formats import Column, Table, render_csv, render_text, table_json

FORMATS = ("table", "json", "csv")


def json_default(value):
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def dumps(data) -> str:
    return json.dumps(data, default=json_default, indent=2, ensure_ascii=False)


def json_chunks(data, indent: int = 2) -> Iterator[str]:
    """The text of `dumps(data)` in pieces, reading kept collections as it goes."""
    return jsonstream.json_chunks(data, indent=indent, default=json_default)


def stream_json(data, write: Callable[[str], object], *, indent: int = 2, size: int = 1 << 16) -> None:
    """Write `dumps(data)` through `write` in pieces of about `size` characters."""
    buffer: list[str] = []
    held = 0
    for piece in json_chunks(data, indent):
        buffer.append(piece)
        held += len(piece)
        if held >= size:
            write("".join(buffer))
            buffer, held = [], 0
    if buffer:
        write("".join(buffer))


def emit(fmt: str, table: Table, json_data=None) -> None:
    """Print `table` in the chosen format; JSON prints `json_data` when given, else the rows."""
    if fmt == "json":
        click.echo(dumps(json_data if json_data is not None else table_json(table)["rows"]))
    elif fmt == "csv":
        click.echo(render_csv(table), nl=False)
    else:
        if table.title:
            click.echo(table.title)
        if table.subtitle:
            click.echo(table.subtitle)
        click.echo(render_text(table) if table.rows or table.totals else "(nothing)")


def format_option(fn):
    """`--format table|json|csv` on a command; defaults to the program-level choice."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(FORMATS),
        default=None,
        help="Output: table (people), json (scripts), csv (spreadsheets).",
    )(fn)


def chosen_format(app, output_format: str | None) -> str:
    return output_format or app.output_format


__all__ = ["Column", "Table", "emit", "format_option", "chosen_format", "dumps"]
