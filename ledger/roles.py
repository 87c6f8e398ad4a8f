"""Database roles on PostgreSQL: who may do what is the database's business, not a promise.

`install_roles(session)` (`pledger db roles`, run by a superuser or a role with CREATEROLE
that may take ownership of the tables) creates or refreshes four NOLOGIN roles; people log
in as their own users and are granted one of them (`GRANT pledger_accountant TO ann`):

| role | may | enforced by |
|---|---|---|
| pledger_owner | own every table, sequence and function; migrate, change settings | ownership |
| pledger_accountant | read; imports, receipts, invoices, orders and their raises, close-outs, undos, periods | GRANTs |
| pledger_auditor | read; trials; undo a close-out (it commits no entry but an undo's, and no close-out number) | GRANTs + commit-time triggers |
| pledger_controller | read; trials | GRANTs + a commit-time trigger |

Append-only tables (those carrying the immutable triggers of migration 0002: entries,
entry_lines, receipts, invoices, their lines, closeout lines and entries, ...) are granted
INSERT and SELECT only, never UPDATE or DELETE, to every application role; other tables
get UPDATE only on the columns the program changes (order-line state, order status, the
undone columns of a close-out, counters, the locked flag of a period).

A trial runs the real close-out or undo and rolls it back, so it writes: the auditor and
the controller are granted exactly the writes a trial makes, and deferred constraint
triggers (`trg_*_trial_only`, fired at COMMIT, never on a rollback) refuse to commit them:
the controller commits no write at all, the auditor commits no new close-out (its undo
commits). A trial rolls back before COMMIT, so it never meets the triggers. The test per
row is one built-in `pg_has_role` call or two: a login that is neither accountant (owners
are accountants too) nor auditor commits none of these writes.

The acting user: when the login (`session_user`) is a member of one of these roles, it is
the user recorded on entries, documents and close-outs (`acting_login`; the CLI refuses a
different `--user`). Superusers are no application role: for them `--user` is recorded.

Table names are data here (this package imports nothing above it); a table this module does
not name gets SELECT only, so a new table is read-only to the roles until it is named.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ledger.errors import PledgerError

ROLE_NAMES = ("owner", "accountant", "auditor", "controller")
APP_ROLES = ("accountant", "auditor", "controller")


def role(name: str) -> str:
    return f"pledger_{name}"


ORDER_LINE_STATE = ("received", "invoiced", "lowered_receive", "lowered_invoice", "written_off_uninvoiced",
                    "written_off_unreceived", "last_closeout_number")

# The writes a close-out or undo makes (and so a trial of one): table -> privileges.
TRIAL_WRITES = {
    "entries": "INSERT",
    "entry_lines": "INSERT",
    "closeout_lines": "INSERT",
    "closeout_entries": "INSERT",
    "write_offs_on_arrival": "INSERT",  # an undo settles a line again under an older close-out
    "closeouts": "INSERT, UPDATE (undone_by, undone_at, undo_date)",
    "closeout_counter": "INSERT, UPDATE (last_number)",
    "journal_counters": "INSERT, UPDATE (last_number, last_hash)",
    "order_lines": f"UPDATE ({', '.join(ORDER_LINE_STATE)})",
    "purchase_orders": "UPDATE (status, reopens_as)",  # what an order closed by a close-out reopens as (0008)
}

# What an accountant writes besides: documents, master data, orders, periods.
ACCOUNTANT_WRITES = {
    **TRIAL_WRITES,
    "suppliers": "INSERT, UPDATE",
    "items": "INSERT, UPDATE",
    "purchase_orders": "INSERT, UPDATE",
    "order_lines": "INSERT, UPDATE",
    "imports": "INSERT",  # the import log, append-only
    "fiscal_years": "INSERT",
    "periods": "INSERT, UPDATE (locked)",
    "period_lock_changes": "INSERT",  # the history of period locks, append-only (migration 0014)
}

# Which role may commit which trial write: the controller none, the auditor no new close-out.
REFUSE_COMMIT = {
    "controller": {t: "INSERT OR UPDATE" if "UPDATE" in p else "INSERT" for t, p in TRIAL_WRITES.items()},
    # and no close-out number: an undo takes none, it only locks the counter (FOR UPDATE needs
    # UPDATE); a number taken without a close-out is a gap in the gapless close-out numbers
    "auditor": {"closeouts": "INSERT", "closeout_lines": "INSERT", "closeout_counter": "INSERT OR UPDATE"},
}


class RolesError(PledgerError):
    pass


def needed_for(connection, kind: str, name: str) -> str:
    """Which role a refused privilege calls for, in words, as the database grants it: the
    application roles that may write the table (pledger_accountant for documents, orders
    and close-outs), else pledger_owner (settings, accounts, the schema's migrations)."""
    if kind == "table":
        writers = [r for r in connection.scalars(text(
            "SELECT r FROM unnest(CAST(:roles AS text[])) AS r WHERE to_regrole(r) IS NOT NULL "
            "AND has_table_privilege(r, to_regclass(:t), 'INSERT, UPDATE, DELETE')"),
            {"roles": [role(n) for n in APP_ROLES], "t": f"public.{name}"})]
        if role("accountant") in writers:  # the trial roles' writes are committed only by an accountant
            return f"writing {name} takes {role('accountant')}"
        return f"changing {name} takes {role('owner')}"
    return f"changing the {kind} {name} takes {role('owner')}"


def made_roles(connection) -> list[str]:
    """Which of pledger's roles this server has (sorted): `install_roles` makes them, server
    wide, and a migration grants its new tables' privileges to those there are."""
    return list(connection.scalars(text("SELECT rolname::text FROM pg_roles WHERE rolname = ANY(:names) ORDER BY rolname"),
                                   {"names": [role(n) for n in ROLE_NAMES]}))


def upgrade_advice(made: list[str]) -> str | None:
    """What `pledger init` tells after upgrading a PostgreSQL book's tables, given the roles
    made before (`made_roles`): none where no role was ever made on the server."""
    if not made:
        return None
    return "the new tables' privileges go to the roles made before; 'pledger db roles' refreshes them all"


def not_installed(connection) -> str | None:
    """Who owns these books' tables when it is not pledger_owner: the roles are the server's,
    their grants each database's, so on books where `install_roles` never ran a login holding
    a role is refused all the same. None when the roles are installed (or no pledger table)."""
    owner = connection.scalar(text(
        "SELECT tableowner::text FROM pg_tables WHERE schemaname = 'public' AND tablename = 'alembic_version'"))
    return owner if owner is not None and owner != role("owner") else None


def acting_login(session: Session) -> tuple[str, str | None]:
    """(the database login, its strongest application role or None); None also for superusers."""
    row = session.execute(text(
        "SELECT session_user::text, r.rolsuper, "
        "  (SELECT array_agg(a.rolname::text) FROM pg_roles a "
        "    WHERE a.rolname IN ('pledger_owner', 'pledger_accountant', 'pledger_auditor', 'pledger_controller') "
        "      AND pg_has_role(session_user, a.oid, 'MEMBER')) "
        "FROM pg_roles r WHERE r.rolname = session_user"
    )).one()
    login, superuser, roles = row[0], row[1], row[2] or []
    if superuser:
        return login, None
    for name in ROLE_NAMES:
        if role(name) in roles:
            return login, name
    return login, None


def _exec(session: Session, sql: str) -> None:
    session.execute(text(sql))


# duplicate key in a shared catalog (a concurrent CREATE ROLE or GRANT committed first) or the object exists
_MADE_MEANWHILE = {"23505", "42710"}


def _make_server_wide(session: Session, sql: str) -> bool:
    """Run a CREATE ROLE or a GRANT of one role to another: the server's, not one database's.
    `pledger db roles` on two databases of one server at once may both find a role missing;
    the second to write waits for the first and then meets its row. That is no error: the
    role (or membership) is there, as asked. Returns whether this session made it."""
    savepoint = session.begin_nested()
    try:
        session.execute(text(sql))
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) not in _MADE_MEANWHILE:
            raise
        savepoint.rollback()
        return False
    savepoint.commit()
    return True


def _tables(session: Session) -> list[str]:
    return list(session.scalars(text(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")))


def _append_only(session: Session) -> set[str]:
    """Tables that carry the immutable-row triggers of migration 0002 (and later ones)."""
    return set(session.scalars(text(
        "SELECT DISTINCT c.relname::text FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "JOIN pg_proc p ON p.oid = t.tgfoid WHERE p.proname = 'pledger_refuse_change'")))


def _functions(session: Session) -> list[str]:
    """pledger's functions in the schema, as `name(argument types)`."""
    return list(session.scalars(text(
        "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = 'public' AND p.proname LIKE 'pledger\\_%' ORDER BY 1")))


ROLE_FUNCTION = """
CREATE OR REPLACE FUNCTION pledger_app_role(login name) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN r.rolsuper THEN NULL
        WHEN pg_has_role(login, 'pledger_owner', 'MEMBER') THEN 'owner'
        WHEN pg_has_role(login, 'pledger_accountant', 'MEMBER') THEN 'accountant'
        WHEN pg_has_role(login, 'pledger_auditor', 'MEMBER') THEN 'auditor'
        WHEN pg_has_role(login, 'pledger_controller', 'MEMBER') THEN 'controller'
    END
    FROM pg_roles r WHERE r.rolname = login
$$
"""

REFUSE_FUNCTION = """
CREATE OR REPLACE FUNCTION pledger_refuse_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'role % may run this as a trial only: its % on % is not committed',
        coalesce('pledger_' || pledger_app_role(current_user), current_user::text), TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'a real close-out or import needs pledger_accountant; an undo pledger_auditor';
END $$
"""

UNDO_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION pledger_refuse_entry_but_an_undo() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    entry bigint := (to_jsonb(NEW) ->> CASE TG_TABLE_NAME WHEN 'entries' THEN 'id' ELSE 'entry_id' END)::bigint;
BEGIN
    -- listed as the undo entry of a close-out this very transaction marked undone (its row's xmin)
    IF NOT EXISTS (SELECT 1 FROM closeout_entries ce JOIN closeouts c ON c.id = ce.closeout_id
                   WHERE ce.entry_id = entry AND ce.kind = 'undo' AND c.undone_at IS NOT NULL
                     AND c.xmin = pg_current_xact_id()::xid) THEN
        RAISE EXCEPTION 'role % commits an entry only as an undo of a close-out: % on % is not committed',
            coalesce('pledger_' || pledger_app_role(current_user), current_user::text), TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'other entries need pledger_accountant';
    END IF;
    RETURN NULL;
END $$
"""
"""The auditor may commit an undo, so it may write entries: only those its undo links to
itself (`closeout_entries` of kind undo, under a close-out whose row this same transaction
marked undone: the row's xmin is the transaction's id), checked at commit; an entry of its
own making is refused, also one it lists under a close-out undone before."""


def install_roles(session: Session, *, grants: dict[str, list[str]] | None = None) -> list[str]:
    """Create or refresh the roles, ownership, grants and commit-time triggers. Returns what it did."""
    if session.get_bind().dialect.name != "postgresql":
        raise RolesError("database roles are a PostgreSQL feature; a SQLite file has no users: "
                         "protect it with the file system's permissions")
    can = session.execute(text(
        "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user")).scalar()
    if not can:
        raise RolesError("creating roles needs a superuser or a role with CREATEROLE: connect as one with --db")
    tables = _tables(session)
    if "entries" not in tables:
        raise RolesError("the database has no pledger tables: run 'pledger init' first")
    done: list[str] = []
    existing = set(session.scalars(text("SELECT rolname::text FROM pg_roles WHERE rolname LIKE 'pledger\\_%'")))
    for name in ROLE_NAMES:
        if role(name) not in existing and _make_server_wide(session, f"CREATE ROLE {role(name)} NOLOGIN"):
            done.append(f"created role {role(name)}")
    if not session.scalar(text("SELECT pg_has_role('pledger_owner', 'pledger_accountant', 'MEMBER')")):
        # the owner may do what an accountant does
        _make_server_wide(session, f"GRANT {role('accountant')} TO {role('owner')}")

    # ownership: every table, sequence and function of the schema
    _exec(session, f"GRANT USAGE, CREATE ON SCHEMA public TO {role('owner')}")
    for table in tables:
        _exec(session, f'ALTER TABLE public."{table}" OWNER TO {role("owner")}')
    for seq in session.scalars(text("SELECT sequencename::text FROM pg_sequences WHERE schemaname = 'public'")):
        _exec(session, f'ALTER SEQUENCE public."{seq}" OWNER TO {role("owner")}')
    _exec(session, ROLE_FUNCTION)
    _exec(session, REFUSE_FUNCTION)
    if "closeout_entries" in tables:  # the close-out's tables (named as data: this package imports nothing above it)
        _exec(session, UNDO_ONLY_FUNCTION)
    for fn in _functions(session):  # the migrations' triggers' and the two above
        _exec(session, f"ALTER FUNCTION {fn} OWNER TO {role('owner')}")
    done.append(f"{role('owner')} owns {len(tables)} tables")

    # privileges: start from nothing, then grant
    app_roles = ", ".join(role(r) for r in APP_ROLES)
    _exec(session, f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {app_roles}")
    _exec(session, f"GRANT USAGE ON SCHEMA public TO {app_roles}")
    _exec(session, f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {app_roles}")
    _exec(session, f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {app_roles}")
    _exec(session, f"ALTER DEFAULT PRIVILEGES FOR ROLE {role('owner')} IN SCHEMA public GRANT SELECT ON TABLES TO {app_roles}")
    append_only = _append_only(session)
    accountant = dict(ACCOUNTANT_WRITES)
    for table in append_only:
        accountant[table] = "INSERT"
    for name, writes in (("accountant", accountant), ("auditor", TRIAL_WRITES), ("controller", TRIAL_WRITES)):
        for table, privileges in sorted(writes.items()):
            if table not in tables:
                continue
            if table in append_only and privileges != "INSERT":
                raise AssertionError(f"{table} is append-only")  # pragma: no cover - a wrong table list
            _exec(session, f'GRANT {privileges} ON public."{table}" TO {role(name)}')
        done.append(f"{role(name)}: SELECT on every table, writes on {', '.join(sorted(t for t in writes if t in tables))}")

    # a trial may write, but the controller (and, for a new close-out, the auditor) may not commit it
    for table in tables:
        for trigger in session.scalars(text(
                "SELECT tgname::text FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE c.relname = :t AND tgname LIKE 'trg\\_%\\_trial\\_only%'"), {"t": table}):
            _exec(session, f'DROP TRIGGER "{trigger}" ON public."{table}"')
    refused: dict[tuple[str, str], list[str]] = {}
    for name, per_table in REFUSE_COMMIT.items():
        for table, events in per_table.items():
            refused.setdefault((table, events), []).append(name)
    for (table, events), names in sorted(refused.items()):
        if table not in tables:
            continue
        # one cheap built-in test per row (pg_has_role is cached per backend; superusers pass):
        # who may commit is named, so that a role not named commits nothing
        may_commit = ["accountant"] if "auditor" in names else ["accountant", "auditor"]
        when = " AND ".join(f"NOT pg_has_role(current_user, '{role(n)}', 'USAGE')" for n in may_commit)
        kind = "ins" if events == "INSERT" else "all"
        _exec(session, (
            f"CREATE CONSTRAINT TRIGGER trg_{table}_trial_only_{kind} AFTER {events} ON public.\"{table}\" "
            f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN ({when}) EXECUTE FUNCTION pledger_refuse_commit()"
        ))
    if "closeout_entries" in tables:
        auditor_alone = f"pg_has_role(current_user, '{role('auditor')}', 'USAGE') AND NOT pg_has_role(current_user, '{role('accountant')}', 'USAGE')"
        for table in ("entries", "entry_lines"):
            _exec(session, (
                f"CREATE CONSTRAINT TRIGGER trg_{table}_trial_only_undo AFTER INSERT ON public.\"{table}\" "
                f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN ({auditor_alone}) "
                f"EXECUTE FUNCTION pledger_refuse_entry_but_an_undo()"
            ))
    done.append("trials only: pledger_controller commits no write, pledger_auditor no new close-out and no entry but an undo's")

    for name, logins in (grants or {}).items():
        for login in logins:
            found = session.scalar(text("SELECT count(*) FROM pg_roles WHERE rolname = :n"), {"n": login})
            if not found:
                raise RolesError(f"no database user '{login}': create it first (CREATE ROLE {login} LOGIN)")
            quoted = '"' + login.replace('"', '""') + '"'  # an identifier: a double quote in it is written twice
            _exec(session, f"GRANT {role(name)} TO {quoted}")
            done.append(f"granted {role(name)} to {login}")
    return done


def members(session: Session) -> list[tuple[str, str]]:
    """(login, role) for every direct member of an application role."""
    return [tuple(r) for r in session.execute(text(
        "SELECT m.rolname::text, g.rolname::text FROM pg_auth_members am "
        "JOIN pg_roles g ON g.oid = am.roleid JOIN pg_roles m ON m.oid = am.member "
        "WHERE g.rolname LIKE 'pledger\\_%' ORDER BY g.rolname, m.rolname"))]
