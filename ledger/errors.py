"""The one base of every refusal pledger makes.

The CLI turns a `PledgerError` into one line on stderr and exit status 1; anything else
is a bug. Subpackages subclass it; nothing else needs to be known by the CLI.
"""


class PledgerError(Exception):
    """A request the books refuse, with a message for the user."""


class PostingError(PledgerError):
    """An entry the ledger refuses to post (unbalanced, locked period, ...)."""


class PeriodError(PledgerError):
    """A fiscal year or period that does not exist or cannot change."""


class NotFound(PledgerError):
    """Something the user named does not exist."""
