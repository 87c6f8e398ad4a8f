"""`python -m bench report REPORT.json -o FILE`: a writer of the posting report timed on a saved report."""

import json
import subprocess
import sys
from pathlib import Path

from bench.__main__ import fresh_book, run_phase
from bench.database import drop_database

ROOT = Path(__file__).resolve().parent.parent


def test_the_real_run_leaves_its_report_and_each_writer_is_timed_on_it(tmp_path):
    url, engine = fresh_book(300, None, tmp_path)
    try:
        run_phase("import", url, tmp_path)
        run = run_phase("run", url, tmp_path, details=True)
    finally:
        engine.dispose()
        drop_database(url)
    saved = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert saved["closeout"] == run["closeout"] and saved["totals"] == run["totals"]
    entry_lines = sum(len(e["lines"]) for e in saved["entries"])
    assert entry_lines > 0 and run["report_pdf"]["rows"] == entry_lines

    timed = {}
    for command, suffix in ((["-m", "bench", "report"], "xlsx"), ([str(ROOT / "bench" / "report.py")], "pdf")):
        output = tmp_path / f"again.{suffix}"
        done = subprocess.run([sys.executable, *command, str(tmp_path / "report.json"), "-o", str(output)],
                              capture_output=True, text=True, cwd=ROOT, check=True)
        timed[suffix] = json.loads(done.stdout)
        assert timed[suffix]["rows"] == [entry_lines, len(saved["accounts"]), len(saved["lines"])]
        assert timed[suffix]["seconds"] > 0 and timed[suffix]["peak_mb"] >= timed[suffix]["base_mb"] > 0
        assert timed[suffix]["bytes"] == output.stat().st_size
    assert (tmp_path / "again.xlsx").read_bytes()[:2] == b"PK"
    assert (tmp_path / "again.pdf").read_bytes() == (tmp_path / "report.pdf").read_bytes()  # the same report, the same file


def test_bench_book_leaves_an_imported_book_for_pledger_commands(tmp_path):
    done = subprocess.run([sys.executable, "-m", "bench", "book", "--lines", "300", "--workdir", str(tmp_path)],
                          capture_output=True, text=True, cwd=ROOT, check=True)
    url = done.stdout.strip().rsplit("pledger --db ", 1)[1]
    assert url == f"sqlite:///{tmp_path / 'bench.db'}"
    pledger = str(Path(sys.executable).with_name("pledger"))
    checked = subprocess.run([pledger, "--db", url, "check"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    trial = subprocess.run([pledger, "--db", url, "closeout", "run", "--close-fully", "--trial", "--format", "json"],
                           capture_output=True, text=True, check=True)
    report = json.loads(trial.stdout)
    assert report["line_count"] > 0 and report["totals"]["balanced"] is True


def test_the_help_of_db_says_where_the_bench_puts_its_database(tmp_path, capsys):
    """`bench book --db URL` makes a database of its own, `pledger_bench_<pid>`, on the
    server the URL names (a SQLite URL: WORKDIR/bench.db, its own file unused); the help
    said "SQLAlchemy URL of a server", as if the book went into the database it names
    (review of 7 December 2026). The helps of the benches that make a fresh database say it."""
    import pytest

    from bench.__main__ import main
    from bench.database import fresh_database

    said = {}
    for command, name in (("book", "pledger_bench_<pid>"), ("closeout", "pledger_bench_<pid>"), ("passes", "pledger_bench_<pid>"),
                          ("flow", "pledger_flow_<pid>"), ("scale", "pledger_scale_<way>_<pid>"),
                          ("growth", "pledger_growth_<lines>_<pid>")):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        said[command] = " ".join(capsys.readouterr().out.split())
        assert name in said[command], command
        assert "the URL's own database is only connected to" in said[command], command
        assert "its file is not used" in said[command], command
    assert "left for pledger commands" in said["book"] and "WORKDIR/bench.db" in said["book"]
    assert "dropped at the end" in said["closeout"]
    # what the help says of a SQLite URL
    assert fresh_database(f"sqlite:///{tmp_path / 'mine.db'}", tmp_path) == f"sqlite:///{tmp_path / 'bench.db'}"
