"""A list that a batch appends to, kept on disk once it is long, read back as often as needed.

A close-out's posting report lists every line it closed and every entry line it posted:
at a million lines that is far more than the run itself holds. `Spill` keeps the first
chunk in memory and writes each further chunk, pickled, to an anonymous temporary file
(removed by the system when closed or when the process ends, even if killed). Iterating
reads the chunks back in order, one at a time, so a reader holds one chunk as well.
"""

from __future__ import annotations

import pickle
import tempfile
from typing import Generic, Iterator, TypeVar

T = TypeVar("T")

CHUNK = 2000  # items per pickled chunk


class Spill(Generic[T]):
    """Append-only items in order: one chunk in memory, the rest in a temporary file."""

    def __init__(self, chunk: int | None = None):
        self._chunk = chunk or CHUNK
        self._buffer: list[T] = []
        self._file = None
        self._offsets: list[int] = []  # where each chunk in the file starts
        self._count = 0

    def append(self, item: T) -> None:
        self._buffer.append(item)
        self._count += 1
        if len(self._buffer) >= self._chunk:
            self._write_buffer()

    def _write_buffer(self) -> None:
        if self._file is None:
            self._file = tempfile.TemporaryFile(prefix="pledger-")
        self._file.seek(0, 2)
        self._offsets.append(self._file.tell())
        pickle.dump(self._buffer, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self._buffer = []

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
        self._file.seek(self._offsets[i])
        return pickle.load(self._file)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._offsets, self._buffer, self._count = [], [], 0
