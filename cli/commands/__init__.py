"""Click commands, one module per area; importing this package registers them all."""

from cli.commands import books, imports  # noqa: F401
from cli.commands import closeout, demo  # noqa: F401
from cli.commands import orders  # noqa: F401
from cli.commands import supplier_docs  # noqa: F401
from cli.commands import admin  # noqa: F401
