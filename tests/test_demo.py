"""`pledger demo` builds its book and walks the close-out through trial, run and undo."""

from click.testing import CliRunner


def test_demo_runs_on_a_new_sqlite_file_and_its_books_hold(tmp_path):
    from cli import commands  # noqa: F401
    from cli.main import cli

    db = tmp_path / "demo.db"
    result = CliRunner().invoke(cli, ["--db", str(db), "--user", "demo", "demo"])
    assert result.exit_code == 0, result.output
    out = result.output
    for step in ("1. Trial close-out", "2. The real close-out", "3. GR/IR sub-balances", "4. Undo close-out 1"):
        assert step in out
    assert "TRIAL, nothing posted" in out
    assert out.count("check passed") == 3
    again = CliRunner().invoke(cli, ["--db", str(db), "demo"])
    assert again.exit_code == 1
    assert "the demo needs an empty database" in again.output
    listed = CliRunner().invoke(cli, ["--db", str(db), "closeout", "list", "--format", "json"])
    assert '"undone_by": "demo"' in listed.output
