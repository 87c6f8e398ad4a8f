"""Ranges of order numbers (and supplier codes) written in digits.

Codes compare as text (CLI.md), and still do: with orders 1, 2, 10 and 100, `--order 1..2`
takes all four, since "10" and "100" sort between "1" and "2". An accountant reads it as
orders 1 and 2, as Exact's order numbers are numbers ("een traject van bestelnummers"), and a
`closeout run --close-fully --order 1..2` closed out 10 and 100 too, without a word (audit of
7 December 2026). Now every close-out command says so beside its output, and on a terminal a
real `--close-fully` run that takes such codes, or every line of the book, asks first (Exact
shows the lines to confirm). Scripts (no terminal) run as before: the same lines, the same
report, exit 0.

The shop is tests/test_views.py's (orders PO-1, PO-2), with one-line orders 1, 2, 10 and 100
added, each 3 BOLT at 10.00, nothing received.
"""

import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

from tests.builders import order, supplier
from tests.test_cli_orders import shop  # noqa: F401  (the fixture)

PLEDGER = str(Path(sys.executable).with_name("pledger"))

NOTE_1_2 = ("note: --order 1..2 compares codes as text, not as numbers: it also takes orders 10, 100, outside 1..2 as "
            "numbers; to go by number, give each order on its own (--order CODE) or name the lines in an --edits file")


@pytest.fixture
def numbered(shop):
    with shop.session() as s:
        for number in ("1", "2", "10", "100"):
            order(s, number, ("BOLT", 3, "10.00"))
    return shop


def closed_orders(report: dict) -> list[str]:
    return sorted({line["order"] for line in report["lines"]}, key=lambda n: (len(n), n))


def closeouts(books) -> list:
    result = books.cli("closeout", "list", "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_text_range_of_numbers_takes_what_it_took_and_says_which_orders_lie_outside_it(numbered, tmp_path):
    proposal = tmp_path / "open.csv"
    result = numbered.cli("closeout", "propose", "--order", "1..2", "-o", proposal)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"4 open lines written to {proposal}\n"  # as text, as CLI.md says: unchanged
    assert result.stderr == NOTE_1_2 + "\n"
    for trial in (("--trial",), ()):
        result = numbered.cli("closeout", "run", "--order", "1..2", "--close-fully", *trial, "--format", "json")
        assert result.exit_code == 0, result.output
        assert closed_orders(json.loads(result.stdout)) == ["1", "2", "10", "100"]
        assert result.stderr == NOTE_1_2 + "\n"  # said beside the report; stdout is the report alone
    assert len(closeouts(numbered)) == 1


def test_an_open_ended_range_says_what_it_leaves_out_and_the_count_beyond_three(numbered, tmp_path):
    with numbered.session() as s:
        for number in ("3", "4", "5", "6", "50"):
            order(s, number, ("BOLT", 1, "10.00"))
    result = numbered.cli("closeout", "propose", "--order", "5..", "-o", tmp_path / "open.csv")
    assert result.exit_code == 0, result.output
    # as text 5.. takes 5, 50, 6 and the PO- orders; as numbers also 10 and 100, which it leaves out
    assert result.stdout == f"7 open lines written to {tmp_path / 'open.csv'}\n"  # 5, 50, 6; PO-1 and PO-2 two each
    assert result.stderr == ("note: --order 5.. compares codes as text, not as numbers: it leaves out orders 10, 100, inside "
                             "5.. as numbers; to go by number, give each order on its own (--order CODE) or name the "
                             "lines in an --edits file\n")
    result = numbered.cli("closeout", "propose", "--order", "..3", "-o", tmp_path / "open.csv")
    assert result.exit_code == 0, result.output
    assert result.stderr == ("note: --order ..3 compares codes as text, not as numbers: it also takes orders 10, 100, "
                             "outside ..3 as numbers; to go by number, give each order on its own (--order CODE) or "
                             "name the lines in an --edits file\n")
    with numbered.session() as s:
        for number in ("7", "8", "9", "20", "30"):
            order(s, number, ("BOLT", 1, "10.00"))
    result = numbered.cli("closeout", "propose", "--order", "1..9", "-o", tmp_path / "open.csv")
    assert result.exit_code == 0, result.output
    # 10, 20, 30, 50 and 100 lie between "1" and "9" as text; fewest digits first, three named
    assert "it also takes orders 10, 20, 30 and 2 more, outside 1..9 as numbers;" in result.stderr
    result = numbered.cli("closeout", "propose", "--order", "01..09", "-o", tmp_path / "open.csv")
    assert result.exit_code == 0, result.output
    assert "--order 01..09 compares codes as text, not as numbers: it leaves out orders 1, 2, 3 and 6 more, inside 1..9" \
        in result.stderr


def test_nothing_is_said_where_text_and_numbers_agree(numbered, tmp_path):
    for option in (("--order", "1..1"), ("--order", "10..100"), ("--order", "PO-1..PO-2"), ("--supplier", "1..9"), ()):
        result = numbered.cli("closeout", "propose", *option, "-o", tmp_path / "open.csv")
        assert result.exit_code == 0 and result.stderr == "", (option, result.output)
    # orders closed out already are not named: the note is of lines the selection may take
    result = numbered.cli("closeout", "run", "--order", "10", "--close-fully", "--format", "json")
    assert result.exit_code == 0, result.output
    result = numbered.cli("closeout", "propose", "--order", "1..2", "-o", tmp_path / "open.csv")
    assert result.stderr == NOTE_1_2.replace("orders 10, 100", "order 100") + "\n"


def test_supplier_codes_in_digits_are_read_the_same_way(numbered, tmp_path):
    with numbered.session() as s:
        supplier(s, "20", "Twenty BV")
        supplier(s, "3", "Three BV")
        order(s, "S20", ("BOLT", 1, "10.00"), supplier_code="20")
        order(s, "S3", ("BOLT", 1, "10.00"), supplier_code="3")
    result = numbered.cli("closeout", "propose", "--supplier", "1..5", "-o", tmp_path / "open.csv")
    assert result.exit_code == 0, result.output
    assert result.stderr == ("note: --supplier 1..5 compares codes as text, not as numbers: it also takes supplier 20, "
                             "outside 1..5 as numbers; to go by number, give each supplier on its own (--supplier CODE) "
                             "or name the lines in an --edits file\n")


def test_a_range_of_numbers_that_runs_backwards_only_as_text_is_not_told_to_swap_its_ends(numbered):
    result = numbered.cli("closeout", "propose", "--order", "9..10", "-o", "x.csv")
    assert result.exit_code == 2
    assert ("'9..10' selects nothing: codes compare as text, not as numbers, and 10 sorts before 9; give each code on its "
            "own (--order 9) or name the lines in an --edits file") in result.stderr
    assert "10..9" not in result.stderr  # which, as text, would take 100, 2, 3 ...
    result = numbered.cli("closeout", "propose", "--order", "PO-2..PO-1", "-o", "x.csv")  # not numbers: as before
    assert result.exit_code == 2 and "runs backwards: it selects nothing; write PO-1..PO-2" in result.stderr


# -- asked on a terminal ----------------------------------------------------------------------


@pytest.fixture
def at_a_terminal(monkeypatch):
    monkeypatch.setattr("cli.commands.closeout._can_ask", lambda: True)


def test_on_a_terminal_a_close_fully_run_over_such_a_range_is_asked_first(numbered, at_a_terminal):
    result = numbered.cli("closeout", "run", "--order", "1..2", "--close-fully", input="n\n")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        NOTE_1_2,
        "close out the 4 lines this selection takes? [y/N]: n",
        "pledger: nothing changed: no close-out was run; narrow the selection (--order, --supplier, --order-date), or "
        "look at it first with --trial",
    ]
    assert result.stdout == "" and closeouts(numbered) == []
    result = numbered.cli("closeout", "run", "--order", "1..2", "--close-fully", "--format", "json", input="y\n")
    assert result.exit_code == 0, result.output
    assert closed_orders(json.loads(result.stdout)) == ["1", "2", "10", "100"]
    assert result.stderr.splitlines() == [NOTE_1_2, "close out the 4 lines this selection takes? [y/N]: y"]  # said once


def test_on_a_terminal_a_close_fully_run_with_no_selection_is_asked_first(numbered, at_a_terminal):
    result = numbered.cli("closeout", "run", "--close-fully", input="\n")  # the default is no
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == "no selection given: close out every open line in the book (8 lines)? [y/N]: "
    assert closeouts(numbered) == []
    result = numbered.cli("closeout", "run", "--close-fully", "--order", "..", "--format", "json", input="y\n")
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["lines"]) == 8  # as many as it said


def test_on_a_terminal_nothing_is_asked_of_a_trial_an_edits_file_or_a_selection_that_reads_the_same(numbered, at_a_terminal,
                                                                                                     tmp_path):
    result = numbered.cli("closeout", "run", "--close-fully", "--trial", "--format", "json")
    assert result.exit_code == 0 and result.stderr == "", result.output
    result = numbered.cli("closeout", "run", "--close-fully", "--order", "1..2", "--trial", "--format", "json")
    assert result.exit_code == 0 and result.stderr == NOTE_1_2 + "\n"
    edits = tmp_path / "edits.csv"
    edits.write_text("order,line,to_receive,to_invoice\n10,1,0,0\n")
    result = numbered.cli("closeout", "run", "--edits", edits, "--format", "json")
    assert result.exit_code == 0 and result.stderr == "", result.output
    result = numbered.cli("closeout", "run", "--close-fully", "--order", "PO-1", "--format", "json")
    assert result.exit_code == 0 and result.stderr == "", result.output


def test_a_real_terminal_is_asked_and_a_no_changes_nothing(numbered):
    """The command as a person runs it, in a pseudo-terminal: asked, answered no, refused."""
    main, child = pty.openpty()
    proc = subprocess.Popen([PLEDGER, "--db", numbered.url, "--user", "ann", "closeout", "run", "--order", "1..2",
                             "--close-fully"], stdin=child, stdout=child, stderr=child, close_fds=True,
                            env={**os.environ, "TERM": "dumb"})
    os.close(child)
    said = b""
    try:
        while b"[y/N]" not in said:
            ready, _, _ = select.select([main], [], [], 30)
            assert ready, f"no question after 30 s: {said!r}"
            said += os.read(main, 4096)
        os.write(main, b"n\n")
        while True:
            ready, _, _ = select.select([main], [], [], 30)
            if not ready:
                break
            try:
                more = os.read(main, 4096)
            except OSError:  # the terminal closed with the process
                break
            if not more:
                break
            said += more
        assert proc.wait(timeout=30) == 1
    finally:
        os.close(main)
        if proc.poll() is None:
            proc.kill()
    text = said.decode().replace("\r\n", "\n")
    assert NOTE_1_2 in text
    assert "close out the 4 lines this selection takes? [y/N]: " in text
    assert "pledger: nothing changed: no close-out was run" in text
    assert closeouts(numbered) == []
