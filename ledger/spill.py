"""A list that a batch appends to, kept on disk once it is long, read back as often as needed.

A close-out's posting report lists every line it closed and every entry line it posted:
at a million lines that is far more than the run itself holds. `Spill` keeps the first
chunk in memory and writes each further chunk, pickled, to an anonymous temporary file
(removed by the system when closed or when the process ends, even if killed). A spill of
plain items (texts, whole numbers, None, tuples and lists of them) is written by
`marshal` instead: measured on a close-out's report entries, a third of pickle's time. The
file lives only as long as the process that wrote it, so marshal's format, which may
change between Python versions, never has to be read by another. Iterating
reads the chunks back in order, one at a time, so a reader holds one chunk as well.
`sorted_spill` sorts more items than memory should hold into a spill (an external sort).
"""

from __future__ import annotations

import heapq
import itertools
import marshal
import pickle
import tempfile
from functools import partial
from typing import Any, Callable, Generic, Iterable, Iterator, TypeVar

from ledger.errors import PledgerError

T = TypeVar("T")


class TemporaryFilesFailed(PledgerError):
    """A spill's temporary file could not be made or written (its folder's disk is full, or
    TMPDIR names a folder that cannot be written): said as that, not as a bug."""

    def __init__(self, error: OSError):
        self.folder = tempfile.gettempdir()
        self.reason = error.strerror or str(error)
        super().__init__(self.saying())

    def saying(self, books: str | None = None) -> str:
        """The one line for the user; `books`, given, says what became of the books."""
        return (f"cannot write pledger's temporary files in {self.folder} ({self.reason})" + (f": {books}" if books else "")
                + "; free some space there, or set TMPDIR to a folder with room, and run it again")

CHUNK = 2000  # items per pickled chunk
RUN = 10  # chunks of items `sorted_spill` sorts in memory at a time


class Spill(Generic[T]):
    """Append-only items in order: one chunk in memory, the rest in a temporary file."""

    def __init__(self, chunk: int | None = None, *, plain: bool = False):
        self._chunk = chunk or CHUNK
        # `plain`: items marshal can write (module docstring)
        self._dumps = marshal.dumps if plain else partial(pickle.dumps, protocol=pickle.HIGHEST_PROTOCOL)
        self._load = marshal.load if plain else pickle.load
        self._buffer: list[T] = []
        self._file = None
        self._offsets: list[int] = []  # where each chunk in the file starts
        self._count = 0

    def append(self, item: T) -> None:
        self._buffer.append(item)
        self._count += 1
        if len(self._buffer) >= self._chunk:
            self._write_buffer()

    def extend(self, items: Iterable[T]) -> None:
        for part in _batched(items, self._chunk):
            self._buffer.extend(part)
            self._count += len(part)
            if len(self._buffer) >= self._chunk:
                self._write_buffer()

    def _write_buffer(self) -> None:
        """Write the first chunk of the buffer to the file; the rest stays."""
        chunk = self._buffer[: self._chunk]
        data = self._dumps(chunk)
        try:
            if self._file is None:
                self._file = tempfile.TemporaryFile(prefix="pledger-")
            self._file.seek(0, 2)
            start = self._file.tell()
            self._file.write(data)
        except OSError as exc:
            raise TemporaryFilesFailed(exc) from exc
        self._offsets.append(start)
        del self._buffer[: self._chunk]

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0

    def __iter__(self) -> Iterator[T]:
        """Every item in order; appending while iterating is not supported."""
        for i in range(len(self._offsets)):
            yield from self._read(i)
        yield from list(self._buffer)

    def _read(self, i: int) -> list[T]:
        try:
            self._file.seek(self._offsets[i])  # writes what is buffered first: a full disk fails here
        except OSError as exc:
            raise TemporaryFilesFailed(exc) from exc
        return self._load(self._file)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._offsets, self._buffer, self._count = [], [], 0


class Mapped(Generic[T]):
    """A spill's items as `convert` makes each of them, made as they are read: sized and
    re-iterable as the spill is, never held whole. What a report keeps compact (tuples of
    stored integers) and shows as text."""

    def __init__(self, items: Spill[Any], convert: Callable[[Any], T]):
        self._items = items
        self._convert = convert

    def __len__(self) -> int:  # and its truth
        return len(self._items)

    def __iter__(self) -> Iterator[T]:
        return map(self._convert, self._items)


def sorted_spill(items: Iterable[T], key: Callable[[T], Any], *, run: int | None = None) -> Spill[T]:
    """The items in the order of `sorted(items, key=key)`, in a new spill.

    An external sort: the items are sorted `run` at a time (by default RUN chunks), each
    sorted run is written in pieces to one temporary file, and `heapq.merge` reads the
    runs side by side, a piece of each at a time, into the result. So memory holds one
    run while sorting and a piece per run while merging. Ties keep their input order,
    as `sorted` keeps them: a run is a stretch of the input sorted stably, and
    `heapq.merge` takes equal items from earlier runs first.
    """
    size = run or RUN * CHUNK
    piece = max(1, min(size, CHUNK // RUN))  # items of a run read at a time while merging
    pieces: Spill[list[T]] = Spill(chunk=1)  # every piece of every run, each pickled on its own
    runs: list[range] = []  # the pieces of each run
    for batch in _batched(items, size):
        batch.sort(key=key)
        if not runs and len(batch) < size:  # it all fits in one run: nothing to merge
            return spilled(batch)
        first = len(pieces)
        for start in range(0, len(batch), piece):
            pieces.append(batch[start:start + piece])
        runs.append(range(first, len(pieces)))
        del batch

    def read(run_pieces: range) -> Iterator[T]:
        for i in run_pieces:
            (part,) = pieces._read(i)
            yield from part

    merged = spilled(heapq.merge(*map(read, runs), key=key))
    pieces.close()
    return merged


def _batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """The items in lists of `size` (the last one shorter), as `itertools.batched` (Python 3.12) gives them."""
    source = iter(items)
    while part := list(itertools.islice(source, size)):
        yield part


def spilled(items: Iterable[T]) -> Spill[T]:
    """The items, in order, in a new spill."""
    spill: Spill[T] = Spill()
    spill.extend(items)
    return spill
