"""Printing what a command found: table for people, JSON for scripts, CSV for spreadsheets."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Callable, Iterable, Iterator

import click

from ledger import jsonstream

from cli.formats import Column, Table, csv_chunks, json_rows, text_blocks

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
    """Print `table` in the chosen format; JSON prints `json_data` when given, else the rows.

    Printed as a stream: the rows (and collections in `json_data`) may be spills on disk.
    """
    echo = lambda text: click.echo(text, nl=False)
    if fmt == "json":
        stream_json(json_data if json_data is not None else json_rows(table), echo)
        click.echo()
    elif fmt == "csv":
        for piece in csv_chunks(table):
            echo(piece)
    else:
        if table.title:
            click.echo(table.title)
        if table.subtitle:
            click.echo(table.subtitle)
        if table.rows or table.totals:
            for piece in text_blocks(table):
                click.echo(piece)
        else:
            click.echo("(nothing)")


def emit_done(fmt: str, said: Iterable[str], data: dict, table: Table) -> None:
    """What a command did: as sentences for people (table), as `data` for JSON, as `table`
    (its rows) for CSV."""
    if fmt == "table":
        for line in said:
            click.echo(line)
    else:
        emit(fmt, table, json_data=data)


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
