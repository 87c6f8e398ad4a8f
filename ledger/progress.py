"""Progress of long work, told by the services and shown (or not) by the caller.

Services call `start(total)` once they know how much there is and `advance(n)` as they
go; the CLI shows a progress bar on a terminal and stays quiet otherwise.
"""

from __future__ import annotations


class Progress:
    def start(self, total: int) -> None:
        pass

    def advance(self, n: int) -> None:
        pass


QUIET = Progress()
