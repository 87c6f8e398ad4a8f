"""The set-up commands through the CLI: init, settings, periods, reports, refusals."""

import json

import pytest
from sqlalchemy import text


def snapshot(books):
    tables = ["accounts", "journals", "fiscal_years", "periods", "purchase_settings", "ledger_settings", "journal_counters"]
    with books.engine.connect() as c:
        return {t: c.execute(text(f"select count(*) from {t}")).scalar() for t in tables}


def test_init_twice_changes_nothing(books):
    before = snapshot(books)
    result = books.cli("init")
    assert result.exit_code == 0, result.output
    assert "up to date: nothing to change" in result.output
    assert snapshot(books) == before


def test_init_on_an_empty_database_installs_the_defaults(tmp_path):
    from click.testing import CliRunner
    from cli import commands  # noqa: F401
    from cli.main import cli

    db = tmp_path / "new.db"
    result = CliRunner().invoke(cli, ["--db", str(db), "init"])
    assert result.exit_code == 0, result.output
    assert "created account 444000" in result.output
    shown = CliRunner().invoke(cli, ["--db", str(db), "settings", "show", "--format", "json"])
    settings = json.loads(shown.output)
    assert set(settings) == {
        "stock", "expense", "creditors", "input_vat", "goods_received", "invoices_received",
        "uninvoiced_receipts", "unreceived_invoices", "price_differences", "exchange_differences", "rounding",
    }
    assert settings["goods_received"] == "444000"


def test_settings_set_and_its_refusals(books):
    assert books.cli("settings", "set", "rounding", "604500").exit_code == 0
    assert json.loads(books.cli("settings", "show", "--format", "json").output)["rounding"] == "604500"
    # an unknown key is a usage mistake (exit 2), as an unknown --sort is: the keys are a fixed
    # list, known without the books (CLI.md: 1 a refused request, 2 a usage mistake); it was 1
    unknown = books.cli("settings", "set", "nonsense", "604500")
    assert (unknown.exit_code, unknown.stdout) == (2, "")
    assert unknown.stderr == ("pledger: Invalid value for 'KEY': unknown purchase setting 'nonsense': one of stock, expense, "
                              "creditors, input_vat, goods_received, invoices_received, uninvoiced_receipts, "
                              "unreceived_invoices, price_differences, exchange_differences, rounding "
                              "(see 'pledger settings set --help')\n")
    assert books.cli("settings", "set", "Rounding", "604500", "--format", "json").exit_code == 2  # as settings show spells them
    from purchase.settings import SettingsError, set_setting

    with books.session() as s, pytest.raises(SettingsError) as service:  # the service says it in the CLI's words
        set_setting(s, "nonsense", "604500")
    assert f"pledger: Invalid value for 'KEY': {service.value} (see 'pledger settings set --help')\n" == unknown.stderr
    missing = books.cli("settings", "set", "rounding", "999")
    assert missing.exit_code == 1
    assert "no account with code '999'" in missing.output


def test_settings_set_help_lists_the_keys(books):
    shown = said(books.cli("settings", "set", "--help"))
    assert "Usage: pledger settings set [OPTIONS] KEY ACCOUNT" in shown
    assert ("  KEY is one of:\n    stock, expense, creditors, input_vat,\n"
            "    goods_received, invoices_received, uninvoiced_receipts, unreceived_invoices,\n"
            "    price_differences, exchange_differences, rounding\n") in shown


def test_settings_set_refuses_a_goods_or_invoices_received_account_shared_with_a_third_role(books):
    """Its balance must equal the order lines' sub-balances: another role's postings on it would break the tie-out."""
    before = books.cli("settings", "show", "--format", "json").output
    for key, code, other, sub in (("uninvoiced_receipts", "444000", "goods_received", "goods_received"),
                                  ("creditors", "499100", "invoices_received", "invoices_received"),
                                  ("goods_received", "610000", "expense", "goods_received"),
                                  ("invoices_received", "604500", "price_differences", "invoices_received")):
        refused = books.cli("settings", "set", key, code)
        assert (refused.exit_code, refused.stdout) == (1, ""), refused.output
        assert refused.stderr == (f"pledger: cannot set {key} to {code}: {code} is the {other} account, and {sub} needs an "
                                  f"account of its own (its balance must equal the order lines' sub-balances); "
                                  f"choose another account\n")
    assert books.cli("settings", "show", "--format", "json").output == before
    # GR and IR may share one account (a GR/IR clearing account), the write-off accounts one, as may the other roles
    assert books.cli("settings", "set", "invoices_received", "444000").exit_code == 0
    assert books.cli("settings", "set", "uninvoiced_receipts", "604900").exit_code == 0
    assert books.cli("settings", "set", "price_differences", "610000").exit_code == 0


def test_settings_company_shows_sets_and_refuses(books):
    shown = books.cli("settings", "company", "--format", "json")
    assert shown.exit_code == 0 and json.loads(shown.output) == {"name": None, "vat_number": None, "endpoint": None}
    assert "(not set)" in books.cli("settings", "company").output

    result = books.cli("settings", "company", "--name", "  Bureau   Janssens NV ", "--vat-number", "be 0123.456.749",
                       "--endpoint", "0123456749")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["company name = Bureau Janssens NV", "company vat number = BE0123456749",
                                          "company endpoint = 0208:0123456749"]
    again = books.cli("settings", "company", "--name", "Bureau Janssens NV", "--endpoint", "0208:0123456749")
    assert again.output.strip() == "our company is already so: nothing to change"
    assert books.cli("settings", "company", "--endpoint", "0123.456.749").output.strip() == "our company is already so: nothing to change"
    assert books.cli("settings", "company", "--endpoint", "0106:12345678").output.strip() == "company endpoint = 0106:12345678"
    assert json.loads(books.cli("settings", "company", "--format", "json").output) == {
        "name": "Bureau Janssens NV", "vat_number": "BE0123456749", "endpoint": "0106:12345678"}

    # a value that cannot be one (its shape, whatever the books hold) is a usage mistake, exit 2, as a
    # malformed --base-currency or --user is (before: exit 1, as a refusal)
    see = "(see 'pledger settings company --help')"
    for args, message in (
        (("--name", "   "), "Invalid value for '--name': the company name is empty: give the name purchase orders show "
                            "as the buyer"),
        (("--name", "x" * 256), "Invalid value for '--name': the company name has 256 characters: at most 255"),
        # shown by `settings company` and on every purchase order: an ESC drove the terminal
        (("--name", "Co\x1b]0;x\x07 NV"), "Invalid value for '--name': the company name holds a control character "
                                           "(U+001B): it is one line of text"),
        (("--vat-number", "X1"), "Invalid value for '--vat-number': 'X1' is not a VAT number: the country's two letters "
                                 "and the number, such as BE0123456749"),
        (("--endpoint", "12:ab"), "Invalid value for '--endpoint': '12:ab' is not a Peppol endpoint: SCHEME:ID with a "
                                  "four-digit scheme, such as 0208:0123456749 (a bare number is taken as 0208)"),
        (("--endpoint", "abc"), "Invalid value for '--endpoint': 'abc' is not a Belgian enterprise number (Peppol scheme "
                                "0208): ten digits, such as 0123456749 or 0123.456.749"),
        (("--endpoint", "0208:123456749"), "Invalid value for '--endpoint': '0208:123456749' is not a Belgian enterprise "
                                           "number (Peppol scheme 0208): ten digits, such as 0123456749 or 0123.456.749"),
        (("--name", "Other NV", "--vat-number", "nonsense!"), "Invalid value for '--vat-number': 'nonsense!' is not a "
                                                              "VAT number: the country's two letters and the number, "
                                                              "such as BE0123456749"),
    ):
        refused = books.cli("settings", "company", *args)
        assert (refused.exit_code, refused.stderr, refused.stdout) == (2, f"pledger: {message} {see}\n", "")
    # a refusal changes nothing, not even the valid part of the same command
    assert json.loads(books.cli("settings", "company", "--format", "json").output)["name"] == "Bureau Janssens NV"


def test_period_lock_unlock_and_list(books):
    assert books.cli("period", "lock", "2026-03").exit_code == 0
    periods = json.loads(books.cli("period", "list", "--format", "json").output)
    march = next(p for p in periods if p["period"] == "2026-03")
    assert march["locked"] is True
    assert "already" in books.cli("period", "lock", "2026-03").output
    assert books.cli("period", "unlock", "2026-03").exit_code == 0


def test_usage_mistakes_exit_2_and_refusals_exit_1(books):
    bad = books.cli("period", "lock", "2026-13")
    assert bad.exit_code == 2
    assert "'2026-13' is not a month" in bad.output
    bad_date = books.cli("report", "trial-balance", "--as-of", "2026-02-30")
    assert bad_date.exit_code == 2
    assert "is not a date" in bad_date.output
    no_year = books.cli("period", "lock", "1990-01")
    assert no_year.exit_code == 1
    assert "period 1990-01 does not exist" in no_year.output
    no_journal = books.cli("journal", "show", "XYZ")
    assert no_journal.exit_code == 1
    assert "no journal 'XYZ'" in no_journal.output


def test_trial_balance_of_empty_books_is_zero(books):
    result = books.cli("report", "trial-balance", "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.output) == []
    assert "check passed" in books.cli("check").output
    assert books.cli("check", "--format", "csv").stdout == "breach\n"  # no breach: the header alone
    # its totals row is named as every report's is ("Total"), not as an account "total"
    assert books.cli("report", "trial-balance", "--format", "csv").stdout.splitlines() == [
        "account,name,debit,credit,balance", "Total,,0.00,0.00,0.00"]


def test_a_database_that_cannot_be_opened_is_one_line_and_exit_1(tmp_path):
    from click.testing import CliRunner
    from cli import commands  # noqa: F401
    from cli.main import cli

    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "missing" / "dir" / "x.db"), "check"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.output.startswith("pledger: ")


def test_posting_into_a_locked_period_is_refused_through_the_cli(books, tmp_path):
    from tests.builders import item, order, supplier

    with books.session() as s:
        supplier(s)
        item(s)
        order(s, "PO-L", ("BOLT", 5, "10.00"))
    assert books.cli("period", "lock", "2026-05").exit_code == 0
    path = tmp_path / "r.csv"
    path.write_text("receipt,date,order,line,quantity\nR-L,2026-05-20,PO-L,1,5\n")
    result = books.cli("import", "receipts", str(path))
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"pledger: {path}: row 2, column date: period 2026-05 is locked: 2026-05-20 takes no postings "
        "(unlock it with 'pledger period unlock 2026-05' or choose another date)"
    )
    assert books.raw("select count(*) from entries").scalar() == 0
    assert books.raw("select count(*) from receipts").scalar() == 0


def test_the_gr_account_cannot_move_once_it_holds_sub_balances(books):
    from ledger.accounts import ensure_account
    from tests.builders import item, order, receive, supplier

    with books.session() as s:
        supplier(s)
        item(s)
        order(s, "PO-G", ("BOLT", 5, "10.00"))
        receive(s, "PO-G", 1, 5)
        ensure_account(s, "444100", "Goederen ontvangen (tweede)", "liability")  # no role's account
    result = books.cli("settings", "set", "goods_received", "444100")
    assert result.exit_code == 1
    assert "cannot move goods_received from 444000 to 444100: 444000 already holds order lines' sub-balances" in result.stderr
    assert books.cli("settings", "set", "rounding", "604500").exit_code == 0


@pytest.mark.postgresql_only
def test_the_gr_account_set_while_the_first_receipt_posts_waits_for_it_and_is_refused(books):
    """The accountant points goods_received at another account while a clerk posts the
    book's first receipt: on PostgreSQL the setting found no order line's posting on 444000
    (not committed yet) and moved; both committed, and `check` failed on the GR/IR tie-out
    (the receipt's 50.00 on 444000, the lines' sub-balances set against 444100). The
    setting now waits for the posting under way, as a period lock does, and then refuses."""

    from ledger.accounts import ensure_account
    from ledger.errors import PledgerError
    from purchase.settings import set_setting
    from tests.builders import item, order, receive, supplier

    with books.session() as s:
        supplier(s)
        item(s)
        order(s, "PO-G", ("BOLT", 5, "10.00"))
        ensure_account(s, "444100", "Goederen ontvangen (tweede)", "liability")  # no role's account
    moved: list = []

    def accountant():
        try:
            with books.session() as s:
                moved.append(set_setting(s, "goods_received", "444100"))
        except PledgerError as exc:
            moved.append(str(exc))

    with books.session() as clerk:
        receive(clerk, "PO-G", 1, 5)  # posted, not committed
        thread = books.start_waiting(accountant, "the setting")
    thread.join(timeout=30)
    assert len(moved) == 1 and "cannot move goods_received from 444000 to 444100" in str(moved[0]), moved
    assert books.cli("check").exit_code == 0


def test_a_reader_that_goes_away_stops_the_output_quietly(tmp_path):
    """`pledger ... | head`: no "internal error", no traceback file, exit 141 as SIGPIPE would."""
    import subprocess
    import sys
    from pathlib import Path

    pledger = str(Path(sys.executable).with_name("pledger"))
    db = tmp_path / "books.db"
    assert subprocess.run([pledger, "--db", str(db), "init"], capture_output=True).returncode == 0
    for fmt in ("table", "json"):
        child = subprocess.Popen([pledger, "--db", str(db), "settings", "show", "--format", fmt],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        child.stdout.close()  # gone before the first line is written
        error = child.stderr.read()
        assert child.wait(timeout=60) == 141
        assert error == b""


def test_output_that_cannot_be_written_is_one_line_saying_what_stands(tmp_path):
    """Standard output on a full disk (`> /dev/full`) or closed (`>&-`): one line, no traceback,
    exit 1, and whether the command's changes to the books stand. A close-out whose report
    could not be printed was an "internal error" although it had posted."""
    import subprocess
    import sys
    from pathlib import Path

    pledger = str(Path(sys.executable).with_name("pledger"))
    db = str(tmp_path / "books.db")
    assert subprocess.run([pledger, "--db", db, "init"], capture_output=True).returncode == 0
    orders = tmp_path / "orders.csv"
    orders.write_text("order,supplier,order_date,line,item,quantity,unit_price,vat_rate\nPO-1,ACME,2026-05-01,1,BOLT,10,2.50,21\n")
    for kind, text in (("suppliers", "code,name,currency\nACME,Acme NV,EUR\n"), ("items", "code,description,stock_item\nBOLT,Bolt,true\n")):
        (tmp_path / f"{kind}.csv").write_text(text)
        assert subprocess.run([pledger, "--db", db, "import", kind, str(tmp_path / f"{kind}.csv")], capture_output=True).returncode == 0
    assert subprocess.run([pledger, "--db", db, "import", "orders", str(orders)], capture_output=True).returncode == 0
    run = [pledger, "--db", db, "--user", "ann", "closeout", "run", "--order", "PO-1", "--close-fully", "--date", "2026-06-30"]

    def closeouts():
        listed = subprocess.run([pledger, "--db", db, "closeout", "list", "--format", "json"], capture_output=True, text=True)
        return len(json.loads(listed.stdout))

    with open("/dev/full", "w") as full:
        read = subprocess.run([pledger, "--db", db, "report", "trial-balance"], stdout=full, stderr=subprocess.PIPE, text=True)
        posted = subprocess.run(run, stdout=full, stderr=subprocess.PIPE, text=True)
    assert (read.returncode, read.stderr) == (
        1, "pledger: cannot write the output: No space left on device; nothing was written to the books\n")
    assert (posted.returncode, posted.stderr) == (
        1, "pledger: cannot write the output: No space left on device; what the command wrote to the books is committed all "
           "the same\n")
    assert closeouts() == 1
    closed = subprocess.run(["sh", "-c", '"$0" "$@" >&-', *run], stderr=subprocess.PIPE, text=True)  # stdout closed
    assert (closed.returncode, closed.stderr) == (
        1, "pledger: standard output is closed: nothing done (send it to a file, or to /dev/null)\n")
    assert closeouts() == 1
    assert subprocess.run([pledger, "--db", db, "check"], capture_output=True).returncode == 0


def test_init_on_older_tables_says_it_upgraded_them(books):
    """`init` migrated a book's older tables and then said "up to date: nothing to change"."""
    from migrations import runner

    runner.downgrade(books.engine, "0008")
    result = books.cli("init")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"upgraded {books.url}: its tables from migration 0008 to {runner.head_revision()}"
    assert "nothing to change" not in result.stdout
    assert books.cli("init").stdout == f"{books.url} is up to date: nothing to change\n"
    assert "check passed" in books.cli("check").output


def test_init_refused_a_base_currency_leaves_older_tables_as_they_were(books):
    """`init --base-currency USD` on a EUR book at 0008 upgraded its tables to the newest
    migration, then refused the currency: exit 1, "the books are kept in EUR", and the book
    changed all the same. The currency is now refused first; the tables stay at 0008."""
    from migrations import runner
    from tests.test_cli_refusals import refused

    runner.downgrade(books.engine, "0008")
    refused(books.cli("init", "--base-currency", "USD"), 1, "the books are kept in EUR; the base currency cannot change to USD")
    assert runner.current_revision(books.engine) == "0008"
    assert books.cli("init", "--base-currency", "EUR").exit_code == 0
    assert runner.current_revision(books.engine) == runner.head_revision()


def test_every_command_on_an_older_pledgers_tables_says_to_upgrade_them_and_changes_nothing(books):
    """A book at 0014 (before order lines kept `raised`): `import orders` took orders, `po show`
    then said "database error: no such column: order_lines.raised; check --db / PLEDGER_DB and
    that the database is reachable" (SQLite; PostgreSQL: "the database refused the change"),
    and `po raise` failed after its checks. Each command now says, before anything else, that
    the tables are older and to upgrade them, as one on a newer pledger's tables says to use
    that one; nothing is written, and after `init` the commands run."""
    from migrations import runner
    from tests.builders import item, order, supplier
    from tests.test_cli_refusals import refused

    with books.session() as s:
        supplier(s)
        item(s, "BOLT")
        order(s, "PO-1", ("BOLT", 10, "5.00"))
    runner.downgrade(books.engine, "0014")
    said = (f"the database's tables are at migration 0014, older than this pledger's {runner.head_revision()}: upgrade them "
            f"with 'pledger --db {books.url} init' (on PostgreSQL, as the books' owner), then run this again (nothing was changed)")
    for command in (("po", "show", "PO-1"), ("po", "show", "PO-1", "--format", "json"), ("po", "raise", "PO-1", "--line", "1=12"),
                    ("check",), ("report", "trial-balance"), ("period", "lock", "2026-01")):
        refused(books.cli(*command), 1, said)
    assert books.raw("SELECT count(*) FROM order_line_raises").scalar() == 0
    assert books.raw("SELECT count(*) FROM periods WHERE locked").scalar() == 0
    assert runner.current_revision(books.engine) == "0014"
    assert books.cli("init").exit_code == 0
    assert books.cli("po", "raise", "PO-1", "--line", "1=12").exit_code == 0
    assert "check passed" in books.cli("check").output


def test_inits_at_once_on_a_new_database_all_succeed_and_install_the_defaults_once(fresh_url):
    """Four `pledger init` started together on one empty database (a deployment's replicas,
    scripts that each begin with init): on PostgreSQL two of three failed with "the database
    refused the change: duplicate key value violates unique constraint
    pg_type_typname_nsp_index", as each created the tables. Now they queue on the schema's
    advisory lock (SQLite: on BEGIN IMMEDIATE), and the defaults, if two insert them at once,
    are inserted again whole by the one that lost. The ones queued say nothing of their wait
    here (PLEDGER_LOCK_NOTICE=0): an init that held the schema lock 3 s, on a loaded host, made
    the others say whom they waited for (test_lockwait's to check), beside the outcome checked here."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    entry = "import sys; sys.argv[0] = 'pledger'; from cli.main import main; main()"
    env = {**os.environ, "PLEDGER_LOCK_NOTICE": "0"}
    procs = [subprocess.Popen([sys.executable, "-c", entry, "--db", fresh_url, "init"], cwd=root, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    results = [(p.communicate(timeout=120), p.returncode) for p in procs]
    for (out, err), code in results:
        assert (code, err) == (0, ""), err
    assert sum("created account 444000" in out for (out, _), _ in results) == 1
    again = subprocess.run([sys.executable, "-c", entry, "--db", fresh_url, "init"], cwd=root, capture_output=True, text=True)
    assert again.stdout == f"{fresh_url} is up to date: nothing to change\n"
    check = subprocess.run([sys.executable, "-c", entry, "--db", fresh_url, "check"], cwd=root, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_python_dash_m_cli_main_is_the_pledger_command(tmp_path):
    """`python -m cli.main` (a checkout without the installed script): every command said
    "No such command 'init'", exit 2, as the commands registered on the other copy of the module."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    db = tmp_path / "books.db"
    made = subprocess.run([sys.executable, "-m", "cli.main", "--db", str(db), "init"], cwd=root, capture_output=True, text=True)
    assert (made.returncode, made.stderr) == (0, ""), made.stderr
    shown = subprocess.run([sys.executable, "-m", "cli.main", "--db", str(db), "settings", "show", "--format", "json"],
                           cwd=root, capture_output=True, text=True)
    assert json.loads(shown.stdout)["goods_received"] == "444000"


def test_journal_show_of_a_year_the_books_do_not_hold_says_so_beside_the_empty_journal(books):
    """`journal show REC --year 2023` on books opened in 2026 printed "(nothing)" alone, as
    for a year with no receipts: a mistyped year read as an empty one."""
    result = books.cli("journal", "show", "REC", "--year", "2023", "--format", "json")
    assert (result.exit_code, result.stdout) == (0, "[]\n")
    assert result.stderr == "note: no fiscal year 2023 in the books (they hold 2026): see 'pledger period list'\n"
    assert books.cli("journal", "show", "REC", "--year", "2026").stderr == ""  # a year held, with no receipts yet


def test_journal_list_counts_entries_in_the_database_not_by_reading_them(books):
    """`journal list` read the id of every entry of each journal into a list to count it (a
    1,000,000-line book: some 800,000 ids); the database counts them, in one query."""
    from sqlalchemy import event

    from tests.builders import invoice, item, order, receive, supplier

    with books.session() as s:
        supplier(s)
        item(s)
        for n in range(3):
            order(s, f"PO-{n}", ("BOLT", 10, "2.50"))
            receive(s, f"PO-{n}", 1, 4)
        invoice(s, "PO-0", 1, 4)
    statements = []
    listen = lambda conn, cursor, statement, *rest: statements.append(" ".join(statement.lower().split()))
    event.listen(books.engine.__class__, "before_cursor_execute", listen)
    try:
        result = books.cli("journal", "list", "--format", "json")
    finally:
        event.remove(books.engine.__class__, "before_cursor_execute", listen)
    assert result.exit_code == 0, result.output
    assert {j["journal"]: j["entries"] for j in json.loads(result.stdout)} == {"MEM": 0, "PUR": 1, "REC": 3}
    reading_entries = [s for s in statements if " from entries" in s or "join entries" in s]
    assert len(reading_entries) == 1 and "count(" in reading_entries[0], reading_entries


# -- --format on the set-up commands ------------------------------------------------------
# CLI.md: `--format table|json|csv` on every command that prints data, JSON stable and
# complete for scripts. init, year open, period lock/unlock and settings set had none
# ("No such option '--format'", exit 2) and printed sentences whatever the program-level
# --format asked. The table format prints the sentences as before, byte for byte.


def said(result, code=0):
    """stdout of a command that exited `code` with nothing on stderr."""
    assert (result.exit_code, result.stderr) == (code, ""), result.output
    return result.stdout


def refused_alike(books, args, code, message):
    """A refusal with --format json is the refusal without it: one line on stderr, nothing on stdout."""
    for extra in ((), ("--format", "json"), ("--format", "csv")):
        result = books.cli(*args, *extra)
        assert (result.exit_code, result.stderr, result.stdout) == (code, f"pledger: {message}\n", ""), extra


def test_init_as_json_names_what_it_created_and_running_it_again_creates_nothing(fresh_url):
    import datetime as dt
    from click.testing import CliRunner
    from cli import commands  # noqa: F401
    from cli.main import cli
    from migrations import runner

    def init(*args):
        return CliRunner().invoke(cli, ["--db", fresh_url, *args], catch_exceptions=False, prog_name="pledger")

    made = json.loads(said(init("init", "--base-currency", "usd", "--format", "json")))
    year = dt.date.today().year
    assert set(made) == {"database", "base_currency", "migration", "changed", "created"}
    assert (made["database"], made["base_currency"], made["migration"], made["changed"]) == (
        fresh_url, "USD", {"before": None, "after": runner.head_revision()}, True)
    created = made["created"]
    assert (created["base_currency"], created["fiscal_years"]) == ("USD", [year])
    assert [a["code"] for a in created["accounts"]] == [
        "340000", "610000", "440000", "411000", "444000", "499100", "608100", "604900", "604500", "654000", "657000"]
    assert created["accounts"][4] == {"code": "444000", "name": "Goederen ontvangen, te ontvangen facturen (goods received)"}
    assert created["settings"][4:6] == [{"key": "goods_received", "account": "444000"},
                                        {"key": "invoices_received", "account": "499100"}]
    assert len(created["settings"]) == 11
    assert created["journals"] == [{"code": "PUR", "name": "Aankopen (purchase invoices)"},
                                   {"code": "REC", "name": "Ontvangsten (goods receipts)"},
                                   {"code": "MEM", "name": "Diverse posten (memorial: close-outs)"}]

    again = json.loads(said(init("--format", "json", "init")))  # the program-level default
    assert (again["changed"], again["base_currency"], again["migration"]["before"]) == (False, "USD", runner.head_revision())
    assert again["created"] == {"base_currency": None, "accounts": [], "settings": [], "journals": [], "fiscal_years": []}
    assert said(init("init", "--format", "csv")) == "created,key,value\n"  # nothing created: the header alone
    assert said(init("init", "--format", "table")) == f"{fresh_url} is up to date: nothing to change\n"


def test_init_as_csv_has_a_row_for_each_thing_created_and_as_a_table_the_sentences(tmp_path):
    import datetime as dt
    from click.testing import CliRunner
    from cli import commands  # noqa: F401
    from cli.main import cli

    def init(db, *args):
        return CliRunner().invoke(cli, ["--db", f"sqlite:///{tmp_path / db}", "init", *args], catch_exceptions=False)

    rows = said(init("a.db", "--format", "csv")).splitlines()
    year = dt.date.today().year
    assert rows[:3] == ["created,key,value", "base currency,base_currency,EUR",
                        "account,340000,Handelsgoederen - aanschaffingswaarde (stock)"]
    assert "setting,goods_received,444000" in rows and "journal,MEM,Diverse posten (memorial: close-outs)" in rows
    assert rows[-1] == f"fiscal year,{year},"
    assert len(rows) == 1 + 1 + 11 + 11 + 3 + 1
    lines = said(init("b.db")).splitlines()
    assert lines[:4] == [f"initialised sqlite:///{tmp_path / 'b.db'}:", "  created base currency EUR",
                         "  created account 340000 Handelsgoederen - aanschaffingswaarde (stock)", "  created setting stock = 340000"]
    assert lines[-1] == f"  created fiscal year {year}" and len(lines) == len(rows)


def test_init_after_an_upgrade_as_json_says_the_migration_and_keeps_the_advice_on_stderr(books):
    from migrations import runner

    if books.dialect == "postgresql":  # the roles are the server's: made unless the server has them
        from tests.test_migrations import _app_roles

        with books.engine.connect() as connection:
            _app_roles(connection)
            connection.commit()
    runner.downgrade(books.engine, "0008")
    result = books.cli("init", "--format", "json")
    assert result.exit_code == 0, result.output
    upgraded = json.loads(result.stdout)
    assert (upgraded["migration"], upgraded["changed"]) == ({"before": "0008", "after": runner.head_revision()}, True)
    assert upgraded["created"] == {"base_currency": None, "accounts": [], "settings": [], "journals": [], "fiscal_years": []}
    advice = "the new tables' privileges go to the roles made before; 'pledger db roles' refreshes them all\n"
    assert result.stderr == (advice if books.dialect == "postgresql" else "")


def test_init_after_an_upgrade_names_the_roles_made_before_only_when_there_are_some(books, monkeypatch):
    """The roles are the server's: a migration grants its new tables' privileges to those
    made before (`pledger db roles`). Where none was ever made, the advice named roles that
    do not exist; it is not given."""
    from ledger import roles
    from migrations import runner
    from tests.test_migrations import _app_roles

    advice = "the new tables' privileges go to the roles made before; 'pledger db roles' refreshes them all"
    assert roles.upgrade_advice(["pledger_owner", "pledger_accountant"]) == advice
    assert roles.upgrade_advice([]) is None
    if books.dialect != "postgresql":
        return
    with books.engine.connect() as connection:  # made unless the server has them (roles are kept: never dropped here)
        _app_roles(connection)
        connection.commit()
        assert {"pledger_accountant", "pledger_auditor", "pledger_controller"} <= set(roles.made_roles(connection))
    monkeypatch.setattr(roles, "made_roles", lambda connection: [])  # a server where none was made
    runner.downgrade(books.engine, "0014")
    result = books.cli("init")
    assert result.exit_code == 0, result.output
    assert "upgraded " in result.stdout and "roles" not in result.stdout and result.stderr == ""
    runner.downgrade(books.engine, "0014")
    result = books.cli("init", "--format", "json")
    assert result.exit_code == 0 and result.stderr == ""


def test_init_refusals_are_the_same_with_format(books):
    refused_alike(books, ["init", "--base-currency", "USD"], 1, "the books are kept in EUR; the base currency cannot change to USD")
    refused_alike(books, ["init", "--base-currency", "XYZ"], 2,
                  "Invalid value for '--base-currency': 'XYZ' is not an ISO 4217 currency code, e.g. EUR "
                  "(see 'pledger init --help')")


def test_year_open_as_json_says_whether_it_opened_the_year_and_its_periods(books):
    opened = json.loads(said(books.cli("year", "open", "2027", "--format", "json")))
    assert set(opened) == {"year", "opened", "periods"}
    assert (opened["year"], opened["opened"], len(opened["periods"])) == (2027, True, 12)
    assert opened["periods"][1] == {"period": "2027-02", "start": "2027-02-01", "end": "2027-02-28", "locked": False}
    assert opened["periods"][11] == {"period": "2027-12", "start": "2027-12-01", "end": "2027-12-31", "locked": False}
    assert books.cli("period", "lock", "2027-02").exit_code == 0
    again = json.loads(said(books.cli("--format", "json", "year", "open", "2027")))  # the program-level default
    assert (again["opened"], again["periods"][1]["locked"], again["periods"][2]["locked"]) == (False, True, False)


def test_year_open_as_csv_and_as_a_table(books):
    rows = said(books.cli("year", "open", "2026", "--format", "csv")).splitlines()  # the books' year, open already
    assert rows[:3] == ["year,opened,period,start,end,locked", "2026,no,2026-01,2026-01-01,2026-01-31,no",
                        "2026,no,2026-02,2026-02-01,2026-02-28,no"]
    assert len(rows) == 13
    assert said(books.cli("year", "open", "2028")) == "fiscal year 2028 opened\n"
    assert said(books.cli("year", "open", "2028", "--format", "table")) == "fiscal year 2028 is already open: nothing to change\n"
    assert said(books.cli("year", "open", "2029", "--format", "csv")).splitlines()[1] == "2029,yes,2029-01,2029-01-01,2029-01-31,no"
    refused_alike(books, ["year", "open", "1899"], 2,
                  "Invalid value for 'YYYY': 1899 is not in the range 1900<=x<=9999. (see 'pledger year open --help')")


def test_period_lock_and_unlock_as_json_say_the_period_before_and_after(books):
    assert json.loads(said(books.cli("period", "lock", "2026-03", "--format", "json"))) == {
        "period": "2026-03", "before": "unlocked", "after": "locked"}
    assert said(books.cli("period", "lock", "2026-03", "--format", "csv")) == "period,before,after\n2026-03,locked,locked\n"
    assert json.loads(said(books.cli("--format", "json", "period", "unlock", "2026-03"))) == {
        "period": "2026-03", "before": "locked", "after": "unlocked"}
    assert said(books.cli("period", "unlock", "2026-03", "--format", "csv")) == "period,before,after\n2026-03,unlocked,unlocked\n"
    # the table format: the sentences as before
    assert said(books.cli("period", "lock", "2026-04")) == "period 2026-04 locked\n"
    assert said(books.cli("period", "lock", "2026-04", "--format", "table")) == "period 2026-04 locked already: nothing to change\n"
    assert said(books.cli("period", "unlock", "2026-04")) == "period 2026-04 unlocked\n"
    assert said(books.cli("period", "unlock", "2026-04")) == "period 2026-04 unlocked already: nothing to change\n"
    refused_alike(books, ["period", "lock", "1990-01"], 1,
                  "period 1990-01 does not exist: open its fiscal year first with 'pledger year open 1990'")
    refused_alike(books, ["period", "unlock", "2026-13"], 2,
                  "Invalid value for 'MONTH': '2026-13' is not a month: write YYYY-MM, e.g. 2026-11 (see 'pledger period unlock --help')")


def test_settings_set_as_json_says_the_key_and_its_account_before_and_after(books):
    assert json.loads(said(books.cli("settings", "set", "rounding", "604500", "--format", "json"))) == {
        "key": "rounding", "before": "657000", "after": "604500"}
    assert said(books.cli("settings", "set", "rounding", "604500", "--format", "csv")) == "key,before,after\nrounding,604500,604500\n"
    assert json.loads(said(books.cli("--format", "json", "settings", "set", "rounding", "657000"))) == {
        "key": "rounding", "before": "604500", "after": "657000"}
    # the table format: the sentences as before
    assert said(books.cli("settings", "set", "rounding", "604500")) == "rounding = 604500\n"
    assert said(books.cli("settings", "set", "rounding", "604500", "--format", "table")) == "rounding is already 604500: nothing to change\n"
    refused_alike(books, ["settings", "set", "rounding", "999"], 1, "no account with code '999': see 'pledger accounts list'")
    # a blank ACCOUNT (a script's unset variable) names no account: a usage mistake, as a blank --db or document number is
    refused_alike(books, ["settings", "set", "rounding", " "], 2,
                  "Invalid value for 'ACCOUNT': ' ' is blank: give the code of an account, as 'pledger accounts list' shows them "
                  "(see 'pledger settings set --help')")
    refused_alike(books, ["settings", "set", "creditors", "499100"], 1,
                  "cannot set creditors to 499100: 499100 is the invoices_received account, and invoices_received needs an "
                  "account of its own (its balance must equal the order lines' sub-balances); choose another account")
    assert json.loads(books.cli("settings", "show", "--format", "json").stdout)["rounding"] == "604500"


def test_settings_company_set_as_json_says_the_company_before_and_after(books):
    """`settings company` took --format for showing the company, and printed sentences when
    setting it whatever was asked."""
    assert json.loads(said(books.cli("settings", "company", "--name", "Bureau NV", "--format", "json"))) == {
        "before": {"name": None, "vat_number": None, "endpoint": None},
        "after": {"name": "Bureau NV", "vat_number": None, "endpoint": None}}
    assert said(books.cli("--format", "csv", "settings", "company", "--name", "Bureau NV", "--vat-number", "be0123456749")) == (
        "key,before,after\nname,Bureau NV,Bureau NV\nvat_number,,BE0123456749\nendpoint,,\n")
    assert json.loads(said(books.cli("settings", "company", "--vat-number", "BE0123456749", "--format", "json"))) == {
        "before": {"name": "Bureau NV", "vat_number": "BE0123456749", "endpoint": None},
        "after": {"name": "Bureau NV", "vat_number": "BE0123456749", "endpoint": None}}
    # the table format: the sentences as before
    assert said(books.cli("settings", "company", "--endpoint", "0123456749")) == "company endpoint = 0208:0123456749\n"
    assert said(books.cli("settings", "company", "--name", "Bureau NV", "--format", "table")) == (
        "our company is already so: nothing to change\n")
    refused_alike(books, ["settings", "company", "--vat-number", "X1"], 2,
                  "Invalid value for '--vat-number': 'X1' is not a VAT number: the country's two letters and the number, "
                  "such as BE0123456749 (see 'pledger settings company --help')")


def _until_it_waits(books, proc) -> None:
    """Until the command that `proc` runs waits on the key another transaction holds: on PostgreSQL
    seen waiting (up to 30 s), not slept for (3 s were gone before a command started on a loaded
    host reached the key: it then found the other's row committed, and the test passed without
    the wait it is about); on SQLite, where a wait on BEGIN IMMEDIATE cannot be seen, 3 s."""
    import time

    if books.dialect != "postgresql":
        time.sleep(3)
        return
    books.until_waiting(lambda: proc.poll() is None, "the command")


def test_a_year_another_writer_opens_meanwhile_is_said_open_not_refused(books):
    """`pledger year open 2031` while another transaction has just opened 2031, uncommitted
    (two clerks' scripts at new year): on PostgreSQL the command waited on the year's key
    and then failed, exit 1, "the database refused the change: duplicate key value violates
    unique constraint uq_fiscal_years_year" (six at once: two failed). CLI.md: concurrent
    writers queue, no command fails because another one is writing. It now runs again whole
    and finds the year open (SQLite: it waits on the other writer's BEGIN IMMEDIATE)."""
    import subprocess
    import sys
    from pathlib import Path

    from ledger.periods import open_year

    root = Path(__file__).resolve().parent.parent
    entry = "import sys; sys.argv[0] = 'pledger'; from cli.main import main; main()"
    with books.session() as other:
        open_year(other, 2031)  # flushed, not committed: it holds the year's key
        proc = subprocess.Popen([sys.executable, "-c", entry, "--db", books.url, "year", "open", "2031"], cwd=root,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _until_it_waits(books, proc)
    out, err = proc.communicate(timeout=120)
    assert (proc.returncode, err) == (0, ""), err
    assert out == "fiscal year 2031 is already open: nothing to change\n"
    assert snapshot(books)["periods"] == 24  # 2026 and 2031, twelve each


def test_our_company_another_writer_sets_meanwhile_is_said_so_not_refused(books):
    """`pledger settings company --name ...` while another transaction has just set the
    name, uncommitted, on a book where none was set: on PostgreSQL the command waited on
    the setting's key and then failed, exit 1, "the database refused the change: duplicate
    key value violates unique constraint pk_ledger_settings". It now runs again whole and
    finds the name set."""
    import subprocess
    import sys
    from pathlib import Path

    from purchase.settings import set_company

    root = Path(__file__).resolve().parent.parent
    entry = "import sys; sys.argv[0] = 'pledger'; from cli.main import main; main()"
    with books.session() as other:
        set_company(other, name="Bureau Peeters BV")  # flushed, not committed: it holds the key
        proc = subprocess.Popen([sys.executable, "-c", entry, "--db", books.url, "settings", "company",
                                 "--name", "Bureau Peeters BV"], cwd=root,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _until_it_waits(books, proc)
    out, err = proc.communicate(timeout=120)
    assert (proc.returncode, err) == (0, ""), err
    assert out == "our company is already so: nothing to change\n"


# An init held once its migrations committed, before it installs the defaults: the moment a
# kill -9 (or a full disk) leaves the tables without accounts, journals, year or settings.
HELD_INIT = """
import sys, time
from pathlib import Path

import cli.commands.books as books

ready, args = Path(sys.argv[1]), sys.argv[2:]

def held(*_args, **_kwargs):
    ready.write_text("migrated")
    time.sleep(60)

books.install_defaults = held
from cli.main import main
sys.argv = ["pledger", *args]
main()
"""


def test_init_killed_before_its_defaults_is_completed_by_init_again_and_other_commands_say_run_init(fresh_url, tmp_path):
    """`init` killed after its migrations committed leaves tables without the defaults.
    `settings show` then printed "(nothing)" (JSON `{}`), exit 0, and `settings set stock
    340000` said "no account with code '340000': see 'pledger accounts list'", which lists
    nothing. Now both say to run `pledger init`, as `check` and the postings did; `init`
    again installs the defaults, and the book checks."""
    import signal
    import subprocess
    import sys
    import time
    from click.testing import CliRunner
    from cli import commands  # noqa: F401
    from cli.main import cli

    driver, ready = tmp_path / "driver.py", tmp_path / "ready"
    driver.write_text(HELD_INIT)
    proc = subprocess.Popen([sys.executable, str(driver), str(ready), "--db", fresh_url, "init"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not ready.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ready.exists(), proc.communicate()
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=20)

    def run(*args):
        return CliRunner().invoke(cli, ["--db", fresh_url, *args], catch_exceptions=False, prog_name="pledger")

    run_init = ("the book's defaults are not installed (no chart of accounts or purchase settings): run "
                f"'pledger --db {fresh_url} init'")  # the books given, as the missing file's refusal names them
    for args in (("settings", "show"), ("settings", "show", "--format", "json"), ("settings", "set", "stock", "340000"), ("check",)):
        refused = run(*args)
        assert (refused.exit_code, refused.stderr, refused.stdout) == (1, f"pledger: {run_init}\n", ""), args
    again = run("init")
    assert again.exit_code == 0 and "created setting goods_received = 444000" in again.stdout, again.output
    assert json.loads(run("settings", "show", "--format", "json").stdout)["goods_received"] == "444000"
    assert run("check").exit_code == 0
    assert run("init").stdout == f"{fresh_url} is up to date: nothing to change\n"


# Every command that reads or writes the books' content, as run on a book `init` left half made
# (its migrations committed, its defaults not installed). The commands left out work on any
# database: `init` completes the book, `demo` installs the defaults first, `db roles` sets up
# the database's roles.
ON_ANY_BOOK = {"init", "demo", "db roles"}
HALF_BOOK_COMMANDS = [
    ("accounts", "list"), ("check",), ("journal", "list"), ("journal", "show", "PUR"),
    ("period", "list"), ("period", "history"), ("period", "lock", "2026-01"), ("period", "unlock", "2026-01"),
    ("year", "open", "2027"),
    ("settings", "show"), ("settings", "set", "stock", "340000"), ("settings", "company", "--name", "Bureau Peeters BV"),
    ("import", "suppliers", "{dir}/suppliers.csv"), ("import", "items", "{dir}/items.csv"),
    ("import", "orders", "{dir}/orders.csv"), ("import", "receipts", "{dir}/receipts.csv"),
    ("import", "invoices", "{dir}/invoices.csv"), ("import", "issues", "{dir}/issues.csv"),
    ("import", "ubl", "{ubl}"), ("import", "list"),
    ("po", "list"), ("po", "show", "PO-1"), ("po", "order", "PO-1"), ("po", "confirm", "PO-1"),
    ("po", "backorder", "PO-1"), ("po", "ship", "PO-1"), ("po", "cancel", "PO-1"), ("po", "close", "PO-1"),
    ("po", "raise", "PO-1", "--line", "1=5"), ("po", "receive", "PO-1", "--receipt", "R-1"),
    ("po", "invoice", "PO-1", "--invoice", "I-1", "--supplier-invoice", "S-1"),
    ("po", "export", "PO-1", "-o", "{dir}/po.pdf"),
    ("closeout", "list"), ("closeout", "show", "1"), ("closeout", "propose", "-o", "{dir}/open.csv"),
    ("closeout", "run", "--close-fully"), ("closeout", "run", "--close-fully", "--trial"),
    ("closeout", "undo", "--number", "1"),
    ("reorder", "propose"),
    ("report", "trial-balance"), ("report", "grir"), ("report", "backorders"),
]


def test_every_command_is_held_to_a_half_set_up_book_or_works_on_any():
    """A command added later is either in the list above (it refuses a half-made book) or
    named as one that works on any database."""
    import click

    from cli import commands  # noqa: F401
    from cli.main import cli

    def leaves(group, path):
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                yield from leaves(command, (*path, name))
            else:
                yield " ".join((*path, name))

    listed = {" ".join(a for a in args if not a.startswith("-") and "{" not in a and not a[0].isdigit()
                       and a not in ("PO-1", "PUR", "stock", "340000", "R-1", "I-1", "S-1", "Bureau Peeters BV"))
              for args in HALF_BOOK_COMMANDS}
    assert set(leaves(cli, ())) == listed | ON_ANY_BOOK


def test_a_half_set_up_book_is_refused_by_every_command_but_init_which_completes_it(fresh_url, tmp_path):
    """A book whose `init` was cut short after its migrations (kill -9, Ctrl-C, a full disk):
    `accounts list`, `period list`, `po list`, `closeout list` printed "(nothing)", exit 0,
    and `import items`, `settings company`, `year open` wrote to it, leaving it further half
    made. Every command that reads or writes the books now says to run `pledger init`, exit 1,
    writing nothing; `init` completes the book, and the book then answers as any other."""
    from pathlib import Path

    from click.testing import CliRunner
    from cli import commands  # noqa: F401
    from cli.main import cli
    from ledger.db import make_engine
    from migrations import runner

    engine = make_engine(fresh_url)
    runner.upgrade(engine)  # as `init` leaves it when stopped between its migrations and its defaults
    for name, text_ in {"suppliers.csv": "code,name,currency\nACME,Acme,EUR\n",
                        "items.csv": "code,description,stock_item\nBOLT,bolt,true\n",
                        "orders.csv": "order,supplier,order_date,line,item,quantity,unit_price\nPO-1,ACME,2026-03-01,1,BOLT,10,1.50\n",
                        "receipts.csv": "receipt,date,order,line,quantity\nR-1,2026-03-02,PO-1,1,4\n",
                        "invoices.csv": "invoice,supplier_invoice,date,order,line,quantity,unit_price,vat_rate\n"
                                        "I-1,S-1,2026-03-03,PO-1,1,4,1.50,21\n",
                        "issues.csv": "issue,date,item,quantity\nX-1,2026-03-04,BOLT,1\n"}.items():
        (tmp_path / name).write_text(text_)
    ubl = Path(__file__).resolve().parent / "ubl" / "samples" / "invoice-simple.xml"

    def counts():
        with engine.connect() as c:
            return {t: c.execute(text(f"select count(*) from {t}")).scalar()
                    for t in ("accounts", "journals", "fiscal_years", "periods", "purchase_settings", "ledger_settings",
                              "suppliers", "items", "purchase_orders", "imports", "entries", "stock_issues")}

    def run(*args):
        return CliRunner().invoke(cli, ["--db", fresh_url, "--user", "ann", *args], catch_exceptions=False, prog_name="pledger")

    before = counts()
    run_init = ("pledger: the book's defaults are not installed (no chart of accounts or purchase settings): run "
                f"'pledger --db {fresh_url} init'\n")
    for args in HALF_BOOK_COMMANDS:
        args = [a.format(dir=tmp_path, ubl=ubl) for a in args]
        for given in (args, [*args, "--format", "json"]) if args[-1] in ("list", "show") else (args,):
            refused = run(*given)
            assert (refused.exit_code, refused.stderr, refused.stdout) == (1, run_init, ""), given
    assert counts() == before
    assert not (tmp_path / "po.pdf").exists() and not (tmp_path / "open.csv").exists()
    done = run("init")
    assert done.exit_code == 0 and "created setting goods_received = 444000" in done.stdout, done.output
    listed = run("accounts", "list", "--format", "json")
    assert listed.exit_code == 0 and "444000" in {a["code"] for a in json.loads(listed.stdout)}, listed.output
    assert run("check").exit_code == 0
    engine.dispose()
