"""Progress of long work, told by the services and shown (or not) by the caller.

Services call `start(total)` once they know how much there is and `advance(n)` as they
go; the CLI shows a progress bar on a terminal and stays quiet otherwise. `told` tells
a progress every item of a stream as it is read, a step at a time. Work done only for a
bar (a count read first for its total) is done only when it is `shown`.
"""

from __future__ import annotations

from typing import Iterable, Iterator, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")

STEP = 1000  # items told at a time: a bar drawn a thousand times for a million rows


class Progress:
    shown = False  # whether anyone sees it (a bar on a terminal); this one shows nothing

    def start(self, total: int) -> None:
        pass

    def advance(self, n: int) -> None:
        pass


QUIET = Progress()


def told(items: Iterable[T], progress: Progress, step: int = STEP) -> Iterator[T]:
    """The items as they come, `progress` advanced by each `step` of them and by the rest
    at the end (the caller has started it with their total); the items alone when the
    progress is not shown."""
    return _telling(items, progress, step) if progress.shown else iter(items)


def _telling(items: Iterable[T], progress: Progress, step: int) -> Iterator[T]:
    n = 0
    for n, item in enumerate(items, 1):
        yield item
        if n % step == 0:
            progress.advance(step)
    if n % step:
        progress.advance(n % step)


def start_counted(session: Session, progress: Progress, *statements: Select) -> None:
    """`progress` started with how many rows the statements give together, counted by the
    database: only when it is shown (the count is for the bar alone)."""
    if progress.shown:
        progress.start(sum(session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
                           for stmt in statements))


def rows_told(session: Session, progress: Progress, stmt: Select, chunk: int = STEP) -> Iterator:
    """The statement's rows, read `chunk` at a time: `progress` started with their count
    (only when shown, `start_counted`) and told each (`told`)."""
    start_counted(session, progress, stmt)
    return told(session.execute(stmt.execution_options(yield_per=chunk)), progress, chunk)
