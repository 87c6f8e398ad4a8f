"""A posting report says what it is a report of: which lines were selected, how their
quantities were lowered (an undo: what it gives back), and the currency of its amounts, in
every output a controller may be handed: the table on stdout, PDF, XLSX and JSON.

Audit of 6 December 2026: a trial's report said only its date, user and totals."""

import json

import pytest
from openpyxl import load_workbook

from tests.builders import item, order, receive, supplier
from tests.pdftext import page_texts, text_positions

OUTPUTS = ("table", "pdf", "xlsx", "json")


@pytest.fixture
def shop(books):
    """Two suppliers' orders, half received."""
    with books.session() as s:
        supplier(s)  # ACME
        supplier(s, "BETA", "Beta BV")
        item(s)
        order(s, "PO-16", ("BOLT", 10, "1.00"), supplier_code="ACME")
        order(s, "PO-17", ("BOLT", 10, "1.00"), supplier_code="BETA")
        receive(s, "PO-16", 1, 5)
        receive(s, "PO-17", 1, 5)
    return books


def report_text(books, tmp_path, output, *args, user="ann"):
    """The report of one `closeout ARGS` as `output` shows it: the table on stdout, the
    PDF's text, the first rows of the XLSX's first sheet, or the JSON on stdout."""
    path = tmp_path / f"report.{output}"
    extra = ["--format", "table"] if output == "table" else ["--format", "json"] if output == "json" else ["--report", path]
    result = books.cli("closeout", *args, *extra, user=user)
    assert result.exit_code == 0, result.output
    if output in ("table", "json"):
        return result.stdout
    if output == "pdf":
        return "\n".join(page_texts(path))
    first = load_workbook(path).worksheets[0]
    return "\n".join(str(row[0]) for row in first.iter_rows(max_row=6, values_only=True) if row[0] is not None)


def about(output, text):
    """The selection, the lowering and the currency as `output` says them: the JSON's new
    keys, or the header's lines."""
    if output == "json":
        data = json.loads(text)
        return data["selection_in_words"], data["lowered"], data["currency"]
    lines = text.splitlines()
    selection = next(l for l in lines if l.startswith("selection"))
    lowered = next(l for l in lines if l.startswith(("lowered: ", "undone: ")))
    currency = next(l for l in lines if "amounts in " in l).split("amounts in ")[1].split(";")[0]
    return selection, lowered, currency


@pytest.mark.parametrize("output", OUTPUTS)
def test_a_trial_says_its_selection_that_it_closes_fully_and_its_currency(shop, tmp_path, output):
    text = report_text(shop, tmp_path, output, "run", "--trial", "--close-fully", "--supplier", "ACME..ACME",
                       "--date", "2026-06-30")
    selection, lowered, currency = about(output, text)
    assert "supplier ACME; sorted by order" in selection
    assert lowered.endswith("closed fully")
    assert currency == "EUR"
    if output != "json":
        assert "TRIAL, nothing posted" in text


@pytest.mark.parametrize("output", OUTPUTS)
def test_a_run_from_an_edits_file_names_the_file(shop, tmp_path, output):
    edits = tmp_path / "lowered.csv"
    edits.write_text("order,line,to_receive,to_invoice\nPO-17,1,0,\n")
    text = report_text(shop, tmp_path, output, "run", "--edits", edits, "--order", "PO-1..", "--sort", "supplier",
                       "--date", "2026-06-30")
    selection, lowered, currency = about(output, text)
    assert "order PO-1..; sorted by supplier" in selection
    assert lowered.endswith(f"from the edits file {edits}")
    assert currency == "EUR"


@pytest.mark.parametrize("output", OUTPUTS)
def test_a_run_from_a_saved_trial_says_the_trials_selection_and_lowering(shop, tmp_path, output):
    saved = tmp_path / "reviewed.jsonl"
    trial = shop.cli("closeout", "run", "--trial", "--close-fully", "--supplier", "BETA", "--date", "2026-06-30",
                     "--save", saved, user="carl")
    assert trial.exit_code == 0, trial.output
    text = report_text(shop, tmp_path, output, "run", "--from-trial", saved)
    selection, lowered, currency = about(output, text)
    assert "supplier BETA; sorted by order" in selection
    assert lowered.endswith("closed fully") and str(saved) not in lowered  # as the trial said it, nothing more
    assert currency == "EUR"


@pytest.mark.parametrize("output", OUTPUTS)
def test_an_undo_says_what_it_undoes_and_that_close_outs_selection(shop, tmp_path, output):
    run = shop.cli("closeout", "run", "--close-fully", "--supplier", "ACME", "--date", "2026-06-30", user="carl")
    assert run.exit_code == 0, run.output
    text = report_text(shop, tmp_path, output, "undo", "--number", "1", "--date", "2026-07-01")
    selection, lowered, currency = about(output, text)
    assert "supplier ACME; sorted by order" in selection
    assert "what close-out 1 of 2026-06-30 by carl lowered, given back" in lowered
    assert currency == "EUR"
    if output != "json":
        assert selection.startswith("selection of close-out 1: ") and lowered.startswith("undone: ")


def test_the_json_keeps_every_key_it_had_and_adds_what_it_is_a_report_of(shop):
    """Scripts rely on the keys: none removed or changed, the new ones beside them."""
    before = {"closeout", "trial", "undo_of", "date", "user", "lines", "entries", "accounts", "totals", "line_count",
              "entry_count"}
    result = shop.cli("closeout", "run", "--close-fully", "--supplier", "ACME", "--date", "2026-06-30", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == before | {"currency", "selection", "selection_in_words", "lowered"}
    assert data["selection"] == {"order": None, "supplier": ["ACME", "ACME"], "order_date": None, "sort": "order"}
    assert set(data["totals"]) == {"debit", "credit", "balanced"}
    assert set(data["lines"][0]) == {"order", "line", "to_receive_before", "to_receive_after", "to_invoice_before",
                                     "to_invoice_after", "uninvoiced", "unreceived", "uninvoiced_amount", "unreceived_amount"}


def test_a_posting_reports_pdf_says_its_title_once(shop, tmp_path):
    """Audit of 6 December 2026: the first page said "pledger posting report (boekingsverslag)"
    and then "Posting report - Close-out - TRIAL, nothing posted". The report's own title is
    the page's; the document's title stays in the running footer (and the PDF's metadata)."""
    import pypdf

    path = tmp_path / "trial.pdf"
    result = shop.cli("closeout", "run", "--trial", "--close-fully", "--date", "2026-06-30", "--report", path)
    assert result.exit_code == 0, result.output
    first = page_texts(path)[0].splitlines()
    assert first[0] == "Posting report - Close-out - TRIAL, nothing posted"
    assert sum("posting report" in line.lower() for line in first) == 2  # the title, and the footer
    assert first[-2:] == ["pledger posting report (boekingsverslag) - Close-out - TRIAL, nothing posted", "page 1 of 1"]
    assert pypdf.PdfReader(str(path)).metadata.title == "pledger posting report (boekingsverslag) - Close-out - TRIAL, nothing posted"


def test_every_page_of_a_posting_reports_pdf_says_which_close_out_and_trial(shop, tmp_path):
    """Audit of 7 December 2026 (looks): only the first page of a posting report said which
    close-out it was and that it was a TRIAL; page 2 to 144 of a trial said "pledger posting
    report (boekingsverslag)" in their footer, as a real run's do: a page taken out of the
    pile could be filed as posted. The footer of every page names the report, its number
    once it has one, and TRIAL."""
    with shop.session() as s:
        for n in range(60):
            order(s, f"PO-{100 + n}", ("BOLT", 10, "1.00"), supplier_code="ACME")
            receive(s, f"PO-{100 + n}", 1, 5)
    trial = tmp_path / "trial.pdf"
    result = shop.cli("closeout", "run", "--trial", "--close-fully", "--date", "2026-06-30", "--report", trial)
    assert result.exit_code == 0, result.output
    pages = page_texts(trial)
    assert len(pages) >= 3
    for number, text in enumerate(pages, 1):
        assert text.splitlines()[-2:] == ["pledger posting report (boekingsverslag) - Close-out - TRIAL, nothing posted",
                                          f"page {number} of {len(pages)}"]
    run = tmp_path / "run.pdf"
    assert shop.cli("closeout", "run", "--close-fully", "--date", "2026-06-30", "--report", run).exit_code == 0
    assert {text.splitlines()[-2] for text in page_texts(run)} == {"pledger posting report (boekingsverslag) - Close-out 1"}
    undo = tmp_path / "undo.pdf"
    assert shop.cli("closeout", "undo", "--number", "1", "--trial", "--date", "2026-06-30", "--report", undo).exit_code == 0
    assert {text.splitlines()[-2] for text in page_texts(undo)} == {
        "pledger posting report (boekingsverslag) - Undo of close-out 1 - TRIAL, nothing posted"}


def left_edges(path, words):
    """Where each of `words` first begins on the PDF's first page below the heading "Lines
    closed": {word: x in points from the left}."""
    drawn = text_positions(path)
    heading = next(y for text, _x, y in drawn if text == "Lines closed")
    return {word: next(x for text, x, y in drawn if text == word and y < heading) for word in words}


def test_a_text_column_of_a_pdf_table_is_no_wider_than_its_longest_value(shop, tmp_path):
    """Audit of 6 December 2026: in "Lines closed" the one text column, the order, was
    stretched over half the page, the quantities beside it squeezed. Every column is as
    wide as its widest value or header needs: the order column as "PO00000018" and a cell's
    padding, the next column ("line") begins there."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    from cli.formats import _PAD_X, _pdf_fonts

    with shop.session() as s:
        order(s, "PO00000018", ("BOLT", 10, "1.00"), supplier_code="ACME")
        receive(s, "PO00000018", 1, 5)
    path = tmp_path / "trial.pdf"
    result = shop.cli("closeout", "run", "--trial", "--close-fully", "--order", "PO00000018", "--date", "2026-06-30",
                      "--report", path)
    assert result.exit_code == 0, result.output
    x = left_edges(path, ["order", "line"])
    # the widest size the table is set in (8.5 pt) and the table's font: no narrower size makes it wider
    widest = max(stringWidth("PO00000018", _pdf_fonts().table, 8.5), stringWidth("order", _pdf_fonts().table_bold, 8.5))
    order_column = x["line"] - x["order"]  # from the order's left edge to the line's: the header "line" fills its column
    assert order_column <= widest + 2 * _PAD_X + 1


def test_a_run_from_a_saved_trial_reports_what_its_trial_reported_but_the_number(shop, tmp_path):
    """CLI.md: nothing but the close-out number may differ between a trial and its real run;
    what the report says it is a report of included."""
    saved = tmp_path / "reviewed.jsonl"
    trial = shop.cli("closeout", "run", "--trial", "--close-fully", "--supplier", "BETA", "--date", "2026-06-30",
                     "--save", saved, "--format", "json", user="carl")
    assert trial.exit_code == 0, trial.output
    run = shop.cli("closeout", "run", "--from-trial", saved, "--format", "json", user="carl")
    assert run.exit_code == 0, run.output
    tried, done = json.loads(trial.stdout), json.loads(run.stdout)
    assert (tried["closeout"], tried["trial"]) == (None, True) and done["closeout"] is not None and done["trial"] is False
    for report in (tried, done):
        del report["closeout"], report["trial"]
        for entry in report["entries"]:
            entry["number"] = None
    assert tried == done


def test_a_pdf_of_a_close_out_that_posts_nothing_says_no_entries_not_no_lines(shop, tmp_path):
    """Audit of 7 December 2026 (controller): a close-out that lowers to receive and to
    invoice alike posts nothing, and its PDF said "No lines." under the entries and under
    the totals per account, then listed the lines it closed under "Lines closed": the
    report read as closing no lines. It says what is missing: no entries, nothing to post.
    A table with no rows of its own kind still says "No lines." (a run that lowers nothing)."""
    edits = tmp_path / "alike.csv"
    edits.write_text("order,line,to_receive,to_invoice\nPO-16,1,0,\n")
    for args in (("--trial",), ()):
        path = tmp_path / f"alike{len(args)}.pdf"
        result = shop.cli("closeout", "run", "--order", "PO-16", "--edits", edits, "--date", "2026-06-30", *args, "--report", path)
        assert result.exit_code == 0, result.output
        text = "\n".join(page_texts(path))
        assert "No lines." not in text
        assert text.count("No entries: nothing to post.") == 2  # under the entries and the totals per account
        assert "Lines closed" in text and "PO-16" in text
    path = tmp_path / "nothing.pdf"
    result = shop.cli("closeout", "run", "--order", "PO-99", "--close-fully", "--date", "2026-06-30", "--report", path)
    assert result.exit_code == 0, result.output
    assert "\n".join(page_texts(path)).count("No lines.") == 1  # the lines closed: none
