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


def is_newer(revision: str | None) -> bool:
    """Whether a book at `revision` was upgraded beyond this pledger (`HEAD`)."""
    return revision is not None and (len(revision), revision) > (len(HEAD), HEAD)
