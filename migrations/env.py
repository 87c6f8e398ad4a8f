"""Alembic environment: the only way pledger's schema is made.

Run through `migrations.runner` (which `pledger init` calls) with a live connection in
`config.attributes["connection"]`, or by the alembic CLI with `-x url=...`.
"""

from alembic import context

from ledger.models import Base
import purchase.models  # noqa: F401  (registers the tables)
import matching.models  # noqa: F401
import purchase.models_stock  # noqa: F401

target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        from ledger.db import make_engine

        url = context.get_x_argument(as_dictionary=True).get("url")
        engine = make_engine(url)
        with engine.connect() as connection:
            _run(connection)
            connection.commit()
        return
    _run(connection)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
