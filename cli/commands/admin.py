"""`pledger db roles`: the PostgreSQL roles that decide who may do what (ledger/roles.py)."""

from __future__ import annotations

import click

from cli.main import cli
from ledger.roles import APP_ROLES, ROLE_NAMES, install_roles, members


def _grant(value: str) -> tuple[str, str]:
    name, sep, login = value.partition("=")
    if not sep or name not in ROLE_NAMES or not login:
        raise click.BadParameter(f"'{value}' is not ROLE=LOGIN with ROLE one of {', '.join(ROLE_NAMES)}", param_hint="--grant")
    return name, login


@cli.group("db")
def db_group():
    """The database itself: roles and privileges (PostgreSQL)."""


@db_group.command("roles")
@click.option("--grant", "grants", multiple=True, metavar="ROLE=LOGIN",
              help=f"Also grant an existing login one of the roles ({', '.join(ROLE_NAMES)}).")
@click.pass_obj
def db_roles(app, grants):
    """Create or refresh pledger_owner, pledger_accountant, pledger_auditor, pledger_controller.

    Run it as a superuser after 'pledger init' (and again after every upgrade). Then log in
    as your own user granted one role: the login is recorded as the acting user.
    """
    wanted: dict[str, list[str]] = {}
    for value in grants:
        name, login = _grant(value)
        wanted.setdefault(name, []).append(login)
    done = app.run_in_transaction(lambda session: (install_roles(session, grants=wanted), members(session)))
    steps, found = done
    for step in steps:
        click.echo(step)
    for login, group in found:
        if group.removeprefix("pledger_") in APP_ROLES or group == "pledger_owner":
            click.echo(f"member: {login} of {group}")
