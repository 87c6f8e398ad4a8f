"""pledger's schema, made only by these Alembic migrations (`migrations.runner`, `pledger init`)."""

from ledger.errors import PledgerError

HEAD = "0015"
"""This pledger's newest migration. Revisions are numbered 0001, 0002, ... in order, so a
book whose revision sorts after HEAD was upgraded by a newer pledger (tests/test_migrations.py
holds HEAD and the numbering to the scripts). Kept here, apart from the runner, so that
every command can compare without loading Alembic's scripts."""


class NewerSchema(PledgerError):
    """The database was upgraded by a newer pledger: its revision is none of ours."""

    def __init__(self, revision: str) -> None:
        super().__init__(f"the database's tables are at migration {revision}, which this pledger does not know (its "
                         f"newest is {HEAD}): a newer pledger upgraded them; use that one (nothing was changed)")


class OlderSchema(PledgerError):
    """The database's tables are an older pledger's: `pledger init` upgrades them."""

    def __init__(self, revision: str, init: str = "pledger init") -> None:
        super().__init__(f"the database's tables are at migration {revision}, older than this pledger's {HEAD}: "
                         f"upgrade them with '{init}' (on PostgreSQL, as the books' owner), then run this again "
                         f"(nothing was changed)")


def _order(revision: str) -> tuple[int, str]:
    return len(revision), revision


def is_newer(revision: str | None) -> bool:
    """Whether a book at `revision` was upgraded beyond this pledger (`HEAD`)."""
    return revision is not None and _order(revision) > _order(HEAD)


def is_older(revision: str | None) -> bool:
    """Whether a book at `revision` is an older pledger's, which `pledger init` upgrades."""
    return revision is not None and _order(revision) < _order(HEAD)
