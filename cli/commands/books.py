"""Set-up and the books: init, year, settings, period, accounts, journal, trial balance, check."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict

import click
from sqlalchemy import func, select

from cli.formats import Column, RowsOf, Table
from cli.main import cli, fail
from cli.output import change_table, chosen_format, emit, emit_done, format_option
from cli.params import DATE, MONTH, CurrencyType, SettingKeyType, not_blank
from cli.progress import TerminalProgress
from ledger import periods, roles
from ledger.periods import FIRST_YEAR, LAST_YEAR
from ledger.accounts import get_setting, kept_setting
from ledger.clock import local_text
from ledger.models import Account, Entry, EntryLine, FiscalYear, Journal
from ledger.money import ZERO, counted, round_money
from ledger.posting import base_currency
from ledger.progress import rows_told
from ledger.reports import trial_balance
from ledger.spill import CHUNK, spilled
from migrations import runner
from matching.checks import check_books
from purchase.settings import (SETTING_KEYS, SettingsError, company, company_values, install_defaults, role_accounts,
                               set_company, set_setting, settings_map)
from purchase.models import Item, OrderLine, PurchaseOrder, Supplier


@cli.command()
@click.option("--base-currency", default="EUR", show_default=True, type=CurrencyType(),
              help="ISO code of the books' currency.")
@format_option
@click.pass_obj
def init(app, base_currency, output_format):
    """Create or upgrade the database and install the defaults (again: no change)."""
    given = click.get_current_context().get_parameter_source("base_currency").name != "DEFAULT"

    def refuse_another(existing: str | None) -> None:
        if existing is not None and existing != base_currency and given:
            fail(f"the books are kept in {existing}; the base currency cannot change to {base_currency}")

    # refused before the tables are upgraded: a refused init leaves older tables as they were
    refuse_another(kept_setting(app.engine, "base_currency"))
    before, after = runner.upgrade(app.engine)  # a concurrent init queues on the schema lock
    app.committed_apart(before != after)  # ^C from here on: the tables stand, made or upgraded

    def defaults(session):  # run again whole if a concurrent init inserted the same defaults first
        existing = get_setting(session, "base_currency")
        refuse_another(existing)
        created = install_defaults(session, existing or base_currency, dt.date.today())
        return get_setting(session, "base_currency"), created

    currency, created = app.run_in_transaction(defaults)
    said, advice = [], None
    if before is not None and before != after:  # tables there before, migrated now
        said.append(f"upgraded {app.shown_url}: its tables from migration {before} to {after}")
        if app.engine.dialect.name == "postgresql":
            with app.engine.connect() as connection:
                advice = roles.upgrade_advice(roles.made_roles(connection))
            if advice:
                said.append(f"  {advice}")
    if created:
        said.append(f"initialised {app.shown_url}:")
        said.extend(f"  created {what}" for what in created.said)
    elif before == after:
        said.append(f"{app.shown_url} is up to date: nothing to change")
    elif before is None:  # this init made the tables; one running beside it installed the defaults
        said.append(f"initialised {app.shown_url}: created its tables; the defaults were there already")
    made = {
        "base_currency": created.base_currency,
        "accounts": [{"code": code, "name": name} for code, name in created.accounts],
        "settings": [{"key": key, "account": code} for key, code in created.settings],
        "journals": [{"code": code, "name": name} for code, name in created.journals],
        "fiscal_years": created.fiscal_years,
    }
    data = {
        "database": app.shown_url,
        "base_currency": currency,
        "migration": {"before": before, "after": after},  # before null: the tables were made now
        "changed": bool(created) or before != after,
        "created": made,
    }
    rows = ([{"created": "base currency", "key": "base_currency", "value": created.base_currency}] if created.base_currency else [])
    rows += [{"created": "account", "key": code, "value": name} for code, name in created.accounts]
    rows += [{"created": "setting", "key": key, "value": code} for key, code in created.settings]
    rows += [{"created": "journal", "key": code, "value": name} for code, name in created.journals]
    rows += [{"created": "fiscal year", "key": str(year), "value": ""} for year in created.fiscal_years]
    fmt = chosen_format(app, output_format)
    emit_done(fmt, said, data,
              Table(title="", columns=[Column("created", "created"), Column("key", "key"), Column("value", "value")], rows=rows))
    if advice and fmt != "table":  # for a script the data on stdout, the advice for the person on stderr
        click.echo(advice.strip(), err=True)


@cli.group()
def year():
    """Fiscal years (boekjaren)."""


@year.command("open")
@click.argument("year_number", metavar="YYYY", type=click.IntRange(FIRST_YEAR, LAST_YEAR))
@format_option
@click.pass_obj
def year_open(app, year_number, output_format):
    """Open a calendar fiscal year (boekjaar) with twelve monthly periods (again: no change)."""
    def opened(session):  # run again whole if another writer opened the year meanwhile (its key: PostgreSQL)
        fiscal_year, created = periods.open_year(session, year_number)
        return [_period_row(fiscal_year, p) for p in sorted(fiscal_year.periods, key=lambda p: p.month)], created

    rows, created = app.run_in_transaction(opened)
    said = f"fiscal year {year_number} opened" if created else f"fiscal year {year_number} is already open: nothing to change"
    emit_done(chosen_format(app, output_format), [said],
              {"year": year_number, "opened": created, "periods": [{**r, "locked": r["locked"] == "yes"} for r in rows]},
              Table(title="", columns=[Column("year", "year", "int"), Column("opened", "opened"), *PERIOD_COLUMNS],
                    rows=[{"year": year_number, "opened": "yes" if created else "no", **r} for r in rows]))


def _period_row(fiscal_year, p) -> dict:
    """A period as `period list` shows it."""
    return {"period": f"{fiscal_year.year}-{p.month:02d}", "start": p.start_date, "end": p.end_date,
            "locked": "yes" if p.locked else "no"}


PERIOD_COLUMNS = [Column("period", "period"), Column("start", "start", "date"), Column("end", "end", "date"),
                  Column("locked", "locked")]


@cli.group()
def settings():
    """Purchase settings (inkoopinstellingen): the account of each posting role, and our company."""


@settings.command("show")
@format_option
@click.pass_obj
def settings_show(app, output_format):
    """The account of each posting role."""
    with app.transaction(readonly=True) as session:
        mapping = role_accounts(session)  # a book whose init was cut short: "run 'pledger init'", not "(nothing)"
        names = dict(session.execute(select(Account.code, Account.name)).all())
    fmt = chosen_format(app, output_format)
    table = Table(
        title="Purchase settings",
        columns=[Column("key", "setting"), Column("account", "account"), Column("name", "name")],
        rows=[{"key": k, "account": v, "name": names.get(v, "")} for k, v in mapping.items()],
    )
    emit(fmt, table, json_data=mapping)


def _keys_help() -> str:
    """`settings set --help`: the keys, four a line (Click keeps `\b` paragraphs as written)."""
    rows = [", ".join(SETTING_KEYS[i:i + 4]) for i in range(0, len(SETTING_KEYS), 4)]
    return ("Point one posting role (KEY) at another account (ACCOUNT, its code).\n\n\b\nKEY is one of:\n"
            + ",\n".join(f"  {row}" for row in rows))


@settings.command("set", help=_keys_help())
@click.argument("key", type=SettingKeyType(SETTING_KEYS), metavar="KEY")
@click.argument("account_code", metavar="ACCOUNT", callback=not_blank("give the code of an account, as 'pledger accounts list' shows them"))
@format_option
@click.pass_obj
def settings_set(app, key, account_code, output_format):
    def set_it(session):  # run again whole if the database gave up on it for another writer
        return settings_map(session).get(key), set_setting(session, key, account_code)

    before, changed = app.run_in_transaction(set_it)
    said = f"{key} = {account_code}" if changed else f"{key} is already {account_code}: nothing to change"
    moved = {"key": key, "before": before, "after": account_code}
    emit_done(chosen_format(app, output_format), [said], moved, change_table("key", "key", [{**moved, "before": before or ""}]))


def _company_value(ctx, param, value):
    """A value of `settings company` that cannot be one (`purchase.settings.company_values`: a
    VAT number or Peppol endpoint of another shape, a blank name) is a usage mistake, exit 2,
    as a malformed --base-currency is; kept as typed, for `set_company` to clean."""
    if value is not None:
        try:
            company_values(**{param.name: value})
        except SettingsError as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param=param) from None
    return value


@settings.command("company")
@click.option("--name", callback=_company_value, help="The company's name: the buyer on every purchase order.")
@click.option("--vat-number", callback=_company_value, help="Its VAT number, such as BE0123456749.")
@click.option("--endpoint", metavar="SCHEME:ID", callback=_company_value,
              help="Its Peppol endpoint, such as 0208:0123456749 (a bare number: 0208).")
@format_option
@click.pass_obj
def settings_company(app, name, vat_number, endpoint, output_format):
    """Our company (eigen onderneming), the buyer on purchase orders: show it, or set it."""
    if name is None and vat_number is None and endpoint is None:
        with app.transaction(readonly=True) as session:
            ours = company(session)
        labels = {"name": "name", "vat_number": "VAT number", "endpoint": "Peppol endpoint"}
        table = Table(title="Our company", columns=[Column("key", "setting"), Column("value", "value")],
                      rows=[{"key": labels[k], "value": v if v is not None else "(not set)"} for k, v in asdict(ours).items()])
        emit(chosen_format(app, output_format), table, json_data=asdict(ours))
        return
    def set_it(session):  # run again whole if another writer set a field first (its key: PostgreSQL)
        before = asdict(company(session))
        return before, set_company(session, name=name, vat_number=vat_number, endpoint=endpoint)

    before, changed = app.run_in_transaction(set_it)
    said = [f"company {field.replace('_', ' ')} = {value}" for field, value in changed.items()]
    after = {**before, **changed}
    emit_done(chosen_format(app, output_format), said or ["our company is already so: nothing to change"],
              {"before": before, "after": after},  # every field, as `settings company --format json` shows them
              change_table("key", "setting", [{"key": k, "before": before[k] or "", "after": after[k] or ""} for k in before]))


@cli.group()
def period():
    """Monthly periods: list, lock, unlock, and the history of their locks."""


@period.command("list")
@format_option
@click.pass_obj
def period_list(app, output_format):
    """The periods of every fiscal year, and whether each is locked."""
    with app.transaction(readonly=True) as session:
        rows = [_period_row(fy, p) for fy, p in periods.list_periods(session)]
    table = Table(title="Periods", columns=PERIOD_COLUMNS, rows=rows)
    emit(chosen_format(app, output_format), table,
         json_data=[{**r, "locked": r["locked"] == "yes"} for r in rows])


def _set_locked(app, month, locked: bool, output_format) -> None:
    """`period lock` / `period unlock`: the sentence, or {"period", "before", "after"}."""
    # run again whole if the database gave up on it for another writer
    _, changed = app.run_in_transaction(lambda session: periods.set_locked(session, month[0], month[1], locked, user=app.user))
    name = f"{month[0]}-{month[1]:02d}"
    after = "locked" if locked else "unlocked"
    before = ("unlocked" if locked else "locked") if changed else after
    moved = {"period": name, "before": before, "after": after}
    emit_done(chosen_format(app, output_format), [f"period {name} {after}" + ("" if changed else " already: nothing to change")],
              moved, change_table("period", "period", [moved]))


@period.command("lock")
@click.argument("month", type=MONTH)
@format_option
@click.pass_obj
def period_lock(app, month, output_format):
    """Lock a month (YYYY-MM): it takes no postings of any kind until unlocked."""
    _set_locked(app, month, True, output_format)


@period.command("unlock")
@click.argument("month", type=MONTH)
@format_option
@click.pass_obj
def period_unlock(app, month, output_format):
    """Unlock a month (YYYY-MM): it takes postings again."""
    _set_locked(app, month, False, output_format)


@period.command("history")
@click.argument("month", type=MONTH, required=False)
@format_option
@click.pass_obj
def period_history(app, month, output_format):
    """Every lock and unlock of a period (YYYY-MM), or of every period, oldest first:
    locked or unlocked, by whom, when (local time). "found locked": the period was locked
    when its history began (the upgrade to migration 0014); who locked it is not known."""
    with app.transaction(readonly=True) as session:
        changes = periods.lock_history(session, *(month or (None, None)))
        rows = [{"period": f"{year}-{month_number:02d}", "locked": c.locked, "found": c.found, "user": c.user_name,
                 "at": local_text(c.changed_at)} for year, month_number, c in changes]
    table = Table(title="Period locks", columns=[Column("period", "period"), Column("change", "change"), Column("user", "user"),
                                                 Column("at", "at")],
                  rows=[{**r, "change": ("found locked" if r["found"] else "locked" if r["locked"] else "unlocked"),
                         "user": r["user"] or ""} for r in rows])
    emit(chosen_format(app, output_format), table, json_data=rows)


@cli.group()
def accounts():
    """The chart of accounts."""


@accounts.command("list")
@format_option
@click.pass_obj
def accounts_list(app, output_format):
    """The chart of accounts: code, name and kind."""
    with app.transaction(readonly=True) as session:
        rows = [{"code": a.code, "name": a.name, "kind": a.kind} for a in session.scalars(select(Account).order_by(Account.code))]
    table = Table(title="Accounts", columns=[Column("code", "code"), Column("name", "name"), Column("kind", "kind")], rows=rows)
    emit(chosen_format(app, output_format), table)


@cli.group()
def journal():
    """Journals (dagboeken) and their entries."""


@journal.command("list")
@format_option
@click.pass_obj
def journal_list(app, output_format):
    """The journals: code, name and how many entries each holds."""
    with app.transaction(readonly=True) as session:
        # counted by the database, one query for all journals (each entry's id was read
        # into a list to be counted: a journal of years holds hundreds of thousands)
        counts = (select(Entry.journal_id, func.count().label("entries")).group_by(Entry.journal_id)).subquery()
        rows = [{"journal": code, "name": name, "entries": entries or 0} for code, name, entries in session.execute(
            select(Journal.code, Journal.name, counts.c.entries)
            .outerjoin(counts, counts.c.journal_id == Journal.id)
            .order_by(Journal.code))]
    table = Table(title="Journals", columns=[Column("journal", "journal"), Column("name", "name"), Column("entries", "entries", "int")], rows=rows)
    emit(chosen_format(app, output_format), table)


@journal.command("show")
@click.argument("code")
@click.option("--year", "year_number", type=click.IntRange(FIRST_YEAR, LAST_YEAR), default=None,
              help="Fiscal year (default: all).")
@format_option
@click.pass_obj
def journal_show(app, code, year_number, output_format):
    """The entries of a journal with their lines."""
    with TerminalProgress("reading journal lines") as progress:  # a bar while the lines are read, then printed
        with app.transaction(readonly=True) as session:
            j = session.scalar(select(Journal).where(Journal.code == code.upper()))
            if j is None:
                fail(f"no journal '{code}': see 'pledger journal list'")
            title = f"Journal {j.code} - {j.name}"  # read here: the read-only transaction's end expires `j`
            currency = base_currency(session)
            # the columns shown, not the entries and lines as objects, kept in a spill as they are
            # read: a purchase journal of years holds millions of lines (one chunk in memory)
            # each line's supplier, order line, item and units, as the posting report gives them: the
            # sub-ledger dimensions that list and explain a GR or IR sub-balance (DOMAIN.md)
            stmt = (
                select(FiscalYear.year, Entry.number, Entry.entry_date, Entry.description, Account.code, Account.name,
                       EntryLine.debit, EntryLine.credit, EntryLine.document, Entry.user_name,
                       Supplier.code, PurchaseOrder.number, OrderLine.line_no, Item.code, EntryLine.quantity)
                .select_from(Entry)
                .join(FiscalYear, FiscalYear.id == Entry.fiscal_year_id)
                .join(EntryLine, EntryLine.entry_id == Entry.id)
                .join(Account, Account.id == EntryLine.account_id)
                .outerjoin(Supplier, Supplier.id == EntryLine.partner_id)
                .outerjoin(OrderLine, OrderLine.id == EntryLine.order_line_id)
                .outerjoin(PurchaseOrder, PurchaseOrder.id == OrderLine.order_id)
                .outerjoin(Item, Item.id == OrderLine.item_id)
                .where(Entry.journal_id == j.id)
                .order_by(FiscalYear.year, Entry.number, EntryLine.line_no)
            )
            unknown_year = None
            if year_number is not None:
                stmt = stmt.where(FiscalYear.year == year_number)
                years = session.scalars(select(FiscalYear.year).order_by(FiscalYear.year)).all()
                if year_number not in years:  # said, beside the empty journal: no entries, or no such year at all
                    unknown_year = (f"note: no fiscal year {year_number} in the books (they hold "
                                    f"{', '.join(map(str, years)) or 'none'}): see 'pledger period list'")
            sums = [ZERO, ZERO]  # debit and credit, added up as the lines are read

            def summed(rows):
                for row in rows:
                    sums[0] += row[6]
                    sums[1] += row[7]
                    yield tuple(row)

            lines = spilled(summed(rows_told(session, progress, stmt, CHUNK)))
        fmt = chosen_format(app, output_format)
        totals = None
        if fmt == "table" and len(lines):  # people see the journal tie out (an empty one stays "(nothing)"); JSON and
            # CSV stay the lines alone, as scripts read them
            totals = {"year": None, "number": None, "date": None, "description": "", "account": "", "name": "",
                      "debit": round_money(sums[0], currency), "credit": round_money(sums[1], currency),
                      "document": "", "user": "", "supplier": None, "order": None, "line": None, "item": None,
                      "quantity": None}
        rows = RowsOf(lines, lambda line: {
            "year": line[0], "number": line[1], "date": line[2], "description": line[3], "account": line[4], "name": line[5],
            "debit": round_money(line[6], currency), "credit": round_money(line[7], currency), "document": line[8] or "",
            "user": line[9], "supplier": line[10], "order": line[11], "line": line[12], "item": line[13],
            "quantity": line[14]}, progress.stage("writing"))
        cols = [Column("year", "year", "int"), Column("number", "number", "int"), Column("date", "date", "date"),
                Column("description", "description"), Column("account", "account"), Column("name", "account name"),
                Column("debit", "debit", "amount"), Column("credit", "credit", "amount"), Column("document", "document"),
                Column("user", "user"), Column("supplier", "supplier"), Column("order", "order"), Column("line", "line", "int"),
                Column("item", "item"), Column("quantity", "quantity", "quantity")]
        emit(fmt, Table(title=title, columns=cols, rows=rows, totals=totals), progress=progress)
    if unknown_year is not None:
        click.echo(unknown_year, err=True)


@cli.group()
def report():
    """Reports: trial balance (proef- en saldibalans), GR/IR, backorders."""


@report.command("trial-balance")
@click.option("--as-of", type=DATE, default=None, help="Only entries dated on or before this date.")
@format_option
@click.pass_obj
def report_trial_balance(app, as_of, output_format):
    """Per account: debit, credit and balance = debit - credit (proef- en saldibalans)."""
    with app.transaction(readonly=True) as session:
        currency = base_currency(session)
        balances = trial_balance(session, as_of)
    rows = [
        {
            "account": b.account, "name": b.name,
            "debit": round_money(b.debit, currency), "credit": round_money(b.credit, currency),
            "balance": round_money(b.balance, currency),
        }
        for b in balances
    ]
    totals = {
        "account": "", "name": "",  # the table writer names the row ("Total"), as in every other report
        "debit": round_money(sum((r["debit"] for r in rows), 0), currency),
        "credit": round_money(sum((r["credit"] for r in rows), 0), currency),
        "balance": round_money(sum((r["balance"] for r in rows), 0), currency),
    }
    cols = [Column("account", "account"), Column("name", "name"), Column("debit", "debit", "amount"),
            Column("credit", "credit", "amount"), Column("balance", "balance", "amount")]
    title = "Trial balance" + (f" as of {as_of.isoformat()}" if as_of else "")
    emit(chosen_format(app, output_format), Table(title=title, columns=cols, rows=rows, totals=totals), json_data=rows)


CHECK_PASSED = ("check passed: every entry balances, numbering is gapless, the hash chain is intact, "
                "no row points at nothing, GR/IR ties out, lines hold what their receipts and invoices add up to, "
                "write-offs tie out to the close-outs standing, raised lines hold their raises, "
                "close-outs list the entries they and their undos posted, order lines name the close-out standing on them")


@cli.command()
@format_option
@click.pass_obj
def check(app, output_format):
    """Prove the books: balanced entries, gapless numbers, hash chain, references, GR/IR and write-offs tie out.

    Each breach is listed; any breach exits 1 (for scripts), none exits 0.
    """
    with TerminalProgress("checking") as progress:  # a bar while the ledger's lines and the order lines are read
        with app.transaction(readonly=True) as session:
            breaches = check_books(session, progress=progress)
        progress.printing()
        fmt = chosen_format(app, output_format)
        if fmt == "json":
            from cli.output import dumps

            click.echo(dumps({"ok": not breaches, "breaches": [str(b) for b in breaches]}))
        elif fmt == "csv":  # one row a breach, every one; none when the books hold
            emit(fmt, Table("check", [Column("breach", "breach")], [{"breach": str(b)} for b in breaches]))
        if breaches:
            if fmt == "table":
                for b in breaches[:50]:
                    click.echo(f"breach: {b}")
                if len(breaches) > 50:
                    click.echo(f"... and {len(breaches) - 50} more")
            fail(f"check failed: {counted(len(breaches), 'breach', 'breaches')}; the first: {breaches[0]}")
        if fmt == "table":
            click.echo(CHECK_PASSED)
