"""`pledger demo` builds its book and walks the close-out through trial, run and undo."""

from decimal import Decimal as D

from click.testing import CliRunner


def test_demo_runs_on_a_new_sqlite_file_and_its_books_hold(tmp_path):
    from cli import commands  # noqa: F401
    from cli.main import cli

    db = tmp_path / "demo.db"
    result = CliRunner().invoke(cli, ["--db", str(db), "--user", "demo", "demo"])
    assert result.exit_code == 0, result.output
    out = result.output
    for step in ("1. Trial close-out", "2. The real close-out", "3. GR/IR sub-balances", "4. Undo close-out 1",
                 "5. An over-delivery", "6. What is missing will not come"):
        assert step in out
    assert "TRIAL, nothing posted" in out
    assert out.count("check passed") == 5
    again = CliRunner().invoke(cli, ["--db", str(db), "demo"])
    assert again.exit_code == 1
    assert "the demo needs an empty database" in again.output
    listed = CliRunner().invoke(cli, ["--db", str(db), "closeout", "list", "--format", "json"])
    assert '"undone_by": "demo"' in listed.output


def test_demo_as_json_is_one_object_with_the_three_reports_and_the_story_on_stderr(tmp_path):
    import json

    from cli import commands  # noqa: F401
    from cli.main import cli

    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "demo.db"), "--user", "demo", "demo", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["checks"] == {"book": "passed", "closeout": "passed", "undo": "passed", "raise": "passed", "close": "passed"}
    trial, real, undo = data["trial"], data["closeout"], data["undo"]
    assert (trial["closeout"], trial["trial"], real["closeout"], undo["undo_of"]) == (None, True, 1, 1)
    assert len(real["lines"]) == len(data["closed_lines"]) > 0
    assert {(l["gr_balance"], l["ir_balance"]) for l in data["closed_lines"]} == {("0.00", "0.00")}
    assert real["totals"] == undo["totals"] == trial["totals"]  # the undo posts the run's mirror, the same totals
    assert "1. Trial close-out" in result.stderr and result.stderr.count("check passed") == 5
    # 5: the over-delivered line raised by a tenth and received to the last unit; 6: an order closed as not coming
    raised = data["raised"]
    assert D(raised["after"]) == D(raised["before"]) * D("1.1") and (raised["to_receive"], raised["to_invoice"]) == ("0", raised["received"])
    closed = data["order_closed"]
    assert (closed["after"], closed["closeout"]["closeout"]) == ("closed", 2)
    assert closed["closeout"]["totals"]["balanced"] and {l["to_receive_after"] for l in closed["closeout"]["lines"]} == {"0"}


def test_demo_as_csv_prints_tables_only(tmp_path):
    import csv
    import io

    from cli import commands  # noqa: F401
    from cli.main import cli

    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "demo.db"), "demo", "--format", "csv"])
    assert result.exit_code == 0, result.output
    blocks = [b for b in result.stdout.split("\n\n") if b.strip()]
    headers = [next(csv.reader(io.StringIO(b)))[0] for b in blocks]
    assert "order" in headers and "journal" in headers
    assert "==" not in result.stdout and "check passed" in result.stderr
