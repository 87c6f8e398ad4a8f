"""Printing what a command found: table for people, JSON for scripts, CSV for spreadsheets."""

from __future__ import annotations

import datetime as dt
import itertools
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


def printer(progress=None) -> Callable[..., None]:
    """`click.echo`, telling `progress` (a `cli.progress.TerminalProgress`) `printing()`
    just before the first text it prints: on a terminal the bar is erased then."""
    started = False

    def echo(text: str = "", nl: bool = True) -> None:
        nonlocal started
        if not started:
            started = True
            if progress is not None:
                progress.printing()
        click.echo(text, nl=nl)

    return echo


def emit(fmt: str, table: Table, json_data=None, progress=None) -> None:
    """Print `table` in the chosen format; JSON prints `json_data` when given, else the rows.

    Printed as a stream: the rows (and collections in `json_data`) may be spills on disk.
    `progress` (a `cli.progress.TerminalProgress`, told the rows by a `RowsOf`) is told
    `printing()` just before the first text goes out: a long text table's first pass over
    its rows (their widths) runs under the bar, which is off the terminal before the title.
    """
    echo = printer(progress)
    write = lambda text: echo(text, nl=False)
    if fmt == "json":
        stream_json(json_data if json_data is not None else json_rows(table), write)
        echo()
    elif fmt == "csv":
        for piece in csv_chunks(table):
            write(piece)
    else:
        blocks = text_blocks(table) if table.rows or table.totals else iter(["(nothing)"])
        first = next(blocks, None)  # a long table's widths are read first, the bar still showing
        for text in (table.title, table.subtitle):
            if text:
                echo(text)
        for piece in itertools.chain([first] if first is not None else [], blocks):
            echo(piece)


def emit_done(fmt: str, said: Iterable[str], data: dict, table: Table) -> None:
    """What a command did: as sentences for people (table), as `data` for JSON, as `table`
    (its rows) for CSV."""
    if fmt == "table":
        for line in said:
            click.echo(line)
    else:
        emit(fmt, table, json_data=data)


def change_table(key: str, label: str, rows: list[dict]) -> Table:
    """What a command changed, as `emit_done` writes it as CSV: a row a thing changed, named
    in the column `key` (headed `label`), with its value before and after (`settings set`,
    `settings company`, `period lock` / `unlock`, the `po` lifecycle commands)."""
    return Table(title="", columns=[Column(key, label), Column("before", "before"), Column("after", "after")], rows=rows)


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
