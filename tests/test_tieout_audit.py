"""A month's tie-out, as a Belgian controller checks it at month end (audit of 7 December 2026, tieout).

November 2026, built through the CLI only and checked after every step: what the trial
balance (today and `--as-of`), `report grir` (today and `--as-of`), `report backorders`,
`po show`, `po list`, `journal show`, `check`, the close-outs' posting reports and
`closeout show N` (table, JSON, CSV and `--report` files) say of the same thing must agree
to the cent, with each other and with DOMAIN.md's formulas worked out by hand below.

    supplier  order   line item      ordered  price (net)                 VAT
    ACME      PO-101  1    BOLT        1000   0.1235                      21 %
                      2    NUT           37   2.4999 less 2.5 % = 2.437403 (6 decimals, half-up)  21 %
    BIO       PO-102  1    FLOUR        250   1.3333                       6 %
                      2    SOAP          12   7.0505                      21 %
    EXPO      PO-103  1    PART           8   12.3456                      0 %
    CLEAN     PO-104  1    CLEANING       4   185.5 (a service: expense)  21 %

value(X) = round(X x p) half-up. By hand:

    11-03 R-1   PO-101/1 600: value(600)  = 74.10   Dr stock 74.10 / Cr GR 74.10
                PO-101/2  20: 48.74806    = 48.75   Dr stock 48.75 / Cr GR 48.75
    11-04 I-1   PO-101/1 400 @ 0.1240 = 49.60; value(400) = 49.40: Dr GR 49.40, price difference 0.20
                PO-101/2  20 @ 2.4374 = 48.748 -> 48.75 = value(20): Dr GR 48.75
                VAT 21 % of 98.35 = 20.6535 -> 20.65; Cr creditors 119.00
    11-05 I-2   PO-102/1 250 @ 1.3333 = 333.325 -> 333.33: Dr IR 333.33 (invoice before receipt)
                PO-102/2  12 @ 7.0505 = 84.606 -> 84.61:  Dr IR 84.61
                VAT 6 % of 333.33 = 19.9998 -> 20.00; 21 % of 84.61 = 17.7681 -> 17.77; Cr creditors 455.71
    11-06 R-2   PO-102/1 100: value(100) = 133.33: Dr stock 133.33 / Cr IR 133.33
          R-3   PO-102/1  50: value(150) = 199.995 -> 200.00, so 66.67 (not 66.665 -> 66.67 by chance)
                PO-102/2  12: 84.61.   Dr stock 151.28 / Cr IR 151.28
    11-09 R-4   PO-103/1   8: 98.7648 -> 98.76: Dr stock / Cr GR 98.76
          I-3   PO-103/1   5 @ 12.35 = 61.75; value(5) = 61.728 -> 61.73: Dr GR 61.73, price difference 0.02,
                no VAT (0 %): Cr creditors 61.75
    11-10 R-5   PO-101/1 -50 (return): value(550) = 67.925 -> 67.93: Cr stock 6.17 / Dr GR 6.17
    11-12 CN-1  PO-102/1 -30 @ 1.3333 = -39.999 -> -40.00; value(220) = 293.326 -> 293.33: Cr IR 40.00,
                VAT 6 % of -40.00 = -2.40: Dr creditors 42.40
    11-13 I-4   PO-104/1   4 @ 185.50 = 742.00: Dr IR 742.00, VAT 155.82, Cr creditors 897.82
          R-6   PO-104/1   3: Dr expense 556.50 / Cr IR 556.50
    close-out 1 (edits, dated 11-20):
                PO-101/1 to receive 450 -> 0, to invoice 600 -> 150 (blank: lowered along): posts nothing
                PO-101/2 17 -> 0 and 17 -> 0: posts nothing
                PO-102/1 to receive 100 -> 0, to invoice 30 -> 0: v = 70: Dr unreceived invoices 93.33 / Cr IR 93.33
                PO-103/1 to invoice 3 -> 0: u = 3: Dr GR 37.03 / Cr uninvoiced receipts 37.03
    11-24 I-5   PO-101/1 150 @ 0.1235 = 18.525 -> 18.53 = 67.93 - 49.40: Dr GR 18.53, VAT 3.89, Cr creditors 22.42
    close-out 2 (closed fully, PO-104, dated 11-25): v = 1: Dr unreceived invoices 185.50 / Cr IR 185.50
    undo of close-out 2 (dated 11-26): Dr IR 185.50 / Cr unreceived invoices 185.50
    11-27 R-7   PO-104/1 1: Dr expense 185.50 / Cr IR 185.50
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest

D = Decimal
STOCK, EXPENSE, CREDITORS, VAT = "340000", "610000", "440000", "411000"
GR, IR, UNINVOICED, UNRECEIVED = "444000", "499100", "608100", "604900"
PRICE_DIFF, ROUNDING = "604500", "657000"


def ok(result):
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result


def as_json(books, *args):
    return json.loads(ok(books.cli(*args, "--format", "json")).stdout)


def as_csv(books, *args) -> list[list[dict]]:
    """The CSV tables a command prints (a blank line between), each a list of row dicts."""
    text = ok(books.cli(*args, "--format", "csv")).stdout
    return [list(csv.DictReader(io.StringIO(block))) for block in text.split("\n\n") if block.strip()]


def write(path, header: str, *rows: str) -> str:
    path.write_text(header + "\n" + "".join(f"{r}\n" for r in rows), encoding="utf-8")
    return str(path)


def cents(text: str) -> Decimal:
    amount = D(text)
    assert amount == amount.quantize(D("0.01")) and text == f"{amount.quantize(D('0.01')):f}", text
    return amount


# -- the tie-out: every place that says an amount, against the hand figures ------------------


def tie_out(books, ledger: dict, lines: dict, backorders: dict, as_of: str | None = None, one_account: bool = False):
    """`ledger`: account -> (debit, credit) by hand; `lines`: (order, line) -> (GR, IR) by hand
    (lines left out hold none); `backorders`: (order, line) -> (in backorder, amount), today only."""
    dated = ("--as-of", as_of) if as_of else ()
    if one_account:  # GR and IR as one GR/IR clearing account (444000): IR's lines are its
        ledger = dict(ledger)
        gr, ir = ledger.pop(GR, (D("0.00"), D("0.00"))), ledger.pop(IR, (D("0.00"), D("0.00")))
        ledger[GR] = (D(gr[0]) + D(ir[0]), D(gr[1]) + D(ir[1]))
    # the trial balance: JSON, CSV (its Total row the sum of its rows, debit = credit) and the table
    tb = as_json(books, "report", "trial-balance", *dated)
    shown = {r["account"]: (cents(r["debit"]), cents(r["credit"])) for r in tb}
    assert shown == {a: (D(d), D(c)) for a, (d, c) in ledger.items() if D(d) or D(c)}
    for r in tb:
        assert cents(r["balance"]) == cents(r["debit"]) - cents(r["credit"])
    (tb_csv,) = as_csv(books, "report", "trial-balance", *dated)
    *rows, total = tb_csv
    assert [{k: r[k] for k in ("account", "debit", "credit", "balance")} for r in rows] == [
        {k: r[k] for k in ("account", "debit", "credit", "balance")} for r in tb]
    assert cents(total["debit"]) == sum((cents(r["debit"]) for r in rows), D("0.00")) == cents(total["credit"])
    assert cents(total["balance"]) == 0
    # GR/IR: its rows, its totals, its ledger figures, against the trial balance and the hand figures
    grir = as_json(books, "report", "grir", *dated)
    assert {(r["order"], r["line"]): (cents(r["gr_balance"]), cents(r["ir_balance"])) for r in grir["rows"]} == {
        key: (D(gr), D(ir)) for key, (gr, ir) in lines.items() if D(gr) or D(ir)}
    gr_total = sum((D(gr) for gr, _ in lines.values()), D("0.00"))
    ir_total = sum((D(ir) for _, ir in lines.values()), D("0.00"))
    assert (cents(grir["totals"]["gr_balance"]), cents(grir["totals"]["ir_balance"])) == (gr_total, ir_total)
    ledger_gr = D(ledger.get(GR, ("0", "0"))[1]) - D(ledger.get(GR, ("0", "0"))[0])
    ledger_ir = D(ledger.get(IR, ("0", "0"))[0]) - D(ledger.get(IR, ("0", "0"))[1])
    if one_account:  # its credit balance, and its debit balance: IR - GR over the lines
        ledger_ir = -ledger_gr
        assert ledger_ir == ir_total - gr_total
    else:
        assert (ledger_gr, ledger_ir) == (gr_total, ir_total)
    assert (cents(grir["ledger"]["goods_received"]["balance"]), cents(grir["ledger"]["invoices_received"]["balance"])) == (
        ledger_gr, ledger_ir)
    assert grir["ties"] is True
    (grir_csv,) = as_csv(books, "report", "grir", *dated)
    *rows, total = grir_csv
    assert [(r["order"], r["gr_balance"], r["ir_balance"]) for r in rows] == [
        (r["order"], r["gr_balance"], r["ir_balance"]) for r in grir["rows"]]
    assert (cents(total["gr_balance"]), cents(total["ir_balance"])) == (gr_total, ir_total)
    if as_of:
        return
    # po show (JSON and its CSV totals) and po list, per order
    for number in ("PO-101", "PO-102", "PO-103", "PO-104"):
        view = as_json(books, "po", "show", number)
        for line in view["lines"]:
            gr, ir = lines.get((number, line["line"]), ("0.00", "0.00"))
            assert (cents(line["gr_balance"]), cents(line["ir_balance"])) == (D(gr), D(ir)), (number, line["line"])
        (show_csv,) = as_csv(books, "po", "show", number)
        *rows, total = show_csv
        assert cents(total["gr_balance"]) == sum((cents(l["gr_balance"]) for l in view["lines"]), D("0.00"))
        assert cents(total["ir_balance"]) == sum((cents(l["ir_balance"]) for l in view["lines"]), D("0.00"))
    # backorders: rows, their amounts, the Total row
    found = as_json(books, "report", "backorders")
    assert {(r["order"], r["line"]): (D(r["in_backorder"]), cents(r["backorder_amount"])) for r in found} == {
        key: (D(q), D(a)) for key, (q, a) in backorders.items()}
    (bo_csv,) = as_csv(books, "report", "backorders")
    *rows, total = bo_csv
    assert cents(total["backorder_amount"]) == sum((D(a) for _, a in backorders.values()), D("0.00"))
    # the journals: every line of every journal, added up per account, is the trial balance
    per_account: dict = {}
    for code in ("PUR", "REC", "MEM"):
        for row in as_json(books, "journal", "show", code):
            d, c = per_account.get(row["account"], (D("0.00"), D("0.00")))
            per_account[row["account"]] = (d + cents(row["debit"]), c + cents(row["credit"]))
    assert per_account == shown
    checked = books.cli("check", "--format", "json")
    assert (checked.exit_code, json.loads(checked.stdout)) == (0, {"ok": True, "breaches": []})


def report_accounts(report: dict) -> dict:
    return {a["account"]: (cents(a["debit"]), cents(a["credit"])) for a in report["accounts"]}


def entry_accounts(report: dict) -> dict:
    """The posting report's entry lines added up per account: what its totals per account must say."""
    out: dict = {}
    for entry in report["entries"]:
        for line in entry["lines"]:
            d, c = out.get(line["account"], (D("0.00"), D("0.00")))
            out[line["account"]] = (d + cents(line["debit"]), c + cents(line["credit"]))
    return out


@pytest.fixture
def month(books, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ok(books.cli("import", "suppliers", write(tmp_path / "s.csv", "code,name,currency",
                                               "ACME,Acme NV,EUR", "BIO,Bio Hoeve BV,EUR", "EXPO,Expo Ltd,EUR",
                                               "CLEAN,Clean & Co,EUR")))
    ok(books.cli("import", "items", write(tmp_path / "i.csv", "code,description,stock_item",
                                           "BOLT,Bolt M8,true", "NUT,Nut M8,true", "FLOUR,Flour 1 kg,true",
                                           "SOAP,Soap,true", "PART,Spare part,true", "CLEANING,Office cleaning,false")))
    ok(books.cli("import", "orders", write(
        tmp_path / "o.csv", "order,supplier,order_date,line,item,quantity,unit_price,discount_pct,vat_rate",
        "PO-101,ACME,2026-11-02,1,BOLT,1000,0.1235,,21", "PO-101,ACME,2026-11-02,2,NUT,37,2.4999,2.5,21",
        "PO-102,BIO,2026-11-02,1,FLOUR,250,1.3333,,6", "PO-102,BIO,2026-11-02,2,SOAP,12,7.0505,,21",
        "PO-103,EXPO,2026-11-02,1,PART,8,12.3456,,0", "PO-104,CLEAN,2026-11-02,1,CLEANING,4,185.5,,21")))
    return books


RECEIPTS = "receipt,date,order,line,quantity"
INVOICES = "invoice,supplier_invoice,date,order,line,quantity,unit_price,vat_rate"


@pytest.mark.parametrize("one_account", [False, True], ids=["gr_ir_apart", "one_gr_ir_account"])
def test_a_month_ties_out_everywhere_after_every_step(month, tmp_path, one_account):
    books = month
    if one_account:
        ok(books.cli("settings", "set", "invoices_received", GR))
        def co_accounts(accounts):
            out: dict = {}
            for a, (d, c) in accounts.items():
                held = out.get(GR if a == IR else a, (D("0.00"), D("0.00")))
                out[GR if a == IR else a] = (held[0] + d, held[1] + c)
            return out
    else:
        co_accounts = lambda accounts: accounts

    def tie(*args, **kwargs):
        tie_out(*args, **kwargs, one_account=one_account)
    ledger: dict = {}
    lines: dict = {}

    def post(*pairs):
        for account, debit, credit in pairs:
            d, c = ledger.get(account, (D("0.00"), D("0.00")))
            ledger[account] = (d + D(debit), c + D(credit))

    def receipts(name, *rows):
        ok(books.cli("import", "receipts", write(tmp_path / f"{name}.csv", RECEIPTS, *rows)))

    def invoices(name, *rows):
        ok(books.cli("import", "invoices", write(tmp_path / f"{name}.csv", INVOICES, *rows)))

    backorders = {("PO-101", 1): ("1000", "123.50"), ("PO-101", 2): ("37", "90.18"), ("PO-102", 1): ("250", "333.33"),
                  ("PO-102", 2): ("12", "84.61"), ("PO-103", 1): ("8", "98.76"), ("PO-104", 1): ("4", "742.00")}
    tie(books, ledger, lines, backorders)
    assert {o["order"]: cents(o["amount"]) for o in as_json(books, "po", "list")} == {
        "PO-101": D("123.50") + D("90.18"), "PO-102": D("333.33") + D("84.61"), "PO-103": D("98.76"), "PO-104": D("742.00")}

    receipts("r1", "R-1,2026-11-03,PO-101,1,600", "R-1,2026-11-03,PO-101,2,20")
    post((STOCK, "122.85", "0"), (GR, "0", "122.85"))
    lines.update({("PO-101", 1): ("74.10", "0"), ("PO-101", 2): ("48.75", "0")})
    # in backorder 400 BOLT: value(1000) - value(600) = 123.50 - 74.10 = 49.40 (= value(400));
    # 17 NUT: value(37) - value(20) = 90.18 - 48.75 = 41.43, where value(17) = 41.435851 -> 41.44
    backorders.update({("PO-101", 1): ("400", "49.40"), ("PO-101", 2): ("17", "41.43")})
    tie(books, ledger, lines, backorders)

    invoices("i1", "I-1,ACME-501,2026-11-04,PO-101,1,400,0.1240,21", "I-1,ACME-501,2026-11-04,PO-101,2,20,2.4374,21")
    post((GR, "98.15", "0"), (PRICE_DIFF, "0.20", "0"), (VAT, "20.65", "0"), (CREDITORS, "0", "119.00"))
    lines.update({("PO-101", 1): ("24.70", "0"), ("PO-101", 2): ("0", "0")})
    tie(books, ledger, lines, backorders)

    invoices("i2", "I-2,BIO-77,2026-11-05,PO-102,1,250,1.3333,6", "I-2,BIO-77,2026-11-05,PO-102,2,12,7.0505,21")
    post((IR, "417.94", "0"), (VAT, "37.77", "0"), (CREDITORS, "0", "455.71"))
    lines.update({("PO-102", 1): ("0", "333.33"), ("PO-102", 2): ("0", "84.61")})
    tie(books, ledger, lines, backorders)
    i2 = [e for e in as_json(books, "journal", "show", "PUR") if e["document"] == "invoice I-2"]
    assert sorted((r["account"], r["debit"], r["credit"]) for r in i2 if r["account"] == VAT) == [
        (VAT, "17.77", "0.00"), (VAT, "20.00", "0.00")]  # one VAT line a rate

    receipts("r2", "R-2,2026-11-06,PO-102,1,100", "R-3,2026-11-06,PO-102,1,50", "R-3,2026-11-06,PO-102,2,12")
    post((STOCK, "284.61", "0"), (IR, "0", "284.61"))
    lines.update({("PO-102", 1): ("0", "133.33"), ("PO-102", 2): ("0", "0")})
    # 250 FLOUR: 100 in backorder, value(250) - value(150) = 333.33 - 200.00 = 133.33
    backorders.update({("PO-102", 1): ("100", "133.33")})
    del backorders[("PO-102", 2)]
    tie(books, ledger, lines, backorders)

    receipts("r4", "R-4,2026-11-09,PO-103,1,8")
    invoices("i3", "I-3,EXPO-9,2026-11-09,PO-103,1,5,12.35,0")
    post((STOCK, "98.76", "0"), (GR, "61.73", "98.76"), (PRICE_DIFF, "0.02", "0"), (CREDITORS, "0", "61.75"))
    lines.update({("PO-103", 1): ("37.03", "0")})
    del backorders[("PO-103", 1)]
    tie(books, ledger, lines, backorders)

    receipts("r5", "R-5,2026-11-10,PO-101,1,-50")  # a return
    post((STOCK, "0", "6.17"), (GR, "6.17", "0"))
    lines.update({("PO-101", 1): ("18.53", "0")})
    # 450 BOLT: value(1000) - value(550) = 123.50 - 67.93 = 55.57 (value(450) = 55.575 -> 55.58)
    backorders.update({("PO-101", 1): ("450", "55.57")})
    tie(books, ledger, lines, backorders)

    invoices("cn1", "CN-1,BIO-78,2026-11-12,PO-102,1,-30,1.3333,6")  # a credit note
    post((IR, "0", "40.00"), (VAT, "0", "2.40"), (CREDITORS, "42.40", "0"))
    lines.update({("PO-102", 1): ("0", "93.33")})
    tie(books, ledger, lines, backorders)

    invoices("i4", "I-4,CLEAN-1,2026-11-13,PO-104,1,4,185.50,21")
    receipts("r6", "R-6,2026-11-13,PO-104,1,3")
    post((IR, "742.00", "556.50"), (VAT, "155.82", "0"), (CREDITORS, "0", "897.82"), (EXPENSE, "556.50", "0"))
    lines.update({("PO-104", 1): ("0", "185.50")})
    backorders.update({("PO-104", 1): ("1", "185.50")})
    tie(books, ledger, lines, backorders)
    before_closeouts = dict(ledger), dict(lines)

    # a locked period takes no close-out, and nothing is written
    ok(books.cli("period", "lock", "2026-10"))
    edits = write(tmp_path / "e1.csv", "order,line,to_receive,to_invoice",
                  "PO-101,1,0,", "PO-101,2,0,0", "PO-102,1,0,0", "PO-103,1,,0")
    refused = books.cli("closeout", "run", "--edits", edits, "--date", "2026-10-31")
    assert (refused.exit_code, refused.stdout) == (1, ""), refused.output
    assert as_json(books, "closeout", "list") == []
    tie(books, ledger, lines, backorders)

    # close-out 1, by edits, dated 11-20: its trial, its run, its report in every format
    trial = as_json(books, "closeout", "run", "--edits", edits, "--date", "2026-11-20", "--trial")
    tie(books, ledger, lines, backorders)
    run = as_json(books, "closeout", "run", "--edits", edits, "--date", "2026-11-20", "--report", "co1.json")
    assert run["closeout"] == 1 and trial["closeout"] is None
    co1 = co_accounts({GR: (D("37.03"), D("0.00")), UNINVOICED: (D("0.00"), D("37.03")),
                       IR: (D("0.00"), D("93.33")), UNRECEIVED: (D("93.33"), D("0.00"))})
    for report in (trial, run, json.loads((tmp_path / "co1.json").read_text())):
        assert report_accounts(report) == entry_accounts(report) == co1
        assert (cents(report["totals"]["debit"]), cents(report["totals"]["credit"])) == (D("130.36"), D("130.36"))
        assert {(l["order"], l["line"]): (l["to_receive_after"], l["to_invoice_after"], l["uninvoiced"], l["unreceived"])
                for l in report["lines"]} == {("PO-101", 1): ("0", "150", "0", "0"), ("PO-101", 2): ("0", "0", "0", "0"),
                                              ("PO-102", 1): ("0", "0", "0", "70"), ("PO-103", 1): ("0", "0", "3", "0")}
    assert {(l["order"], l["line"]): (l["uninvoiced_amount"], l["unreceived_amount"]) for l in run["lines"]} == {
        ("PO-101", 1): ("0.00", "0.00"), ("PO-101", 2): ("0.00", "0.00"), ("PO-102", 1): ("0.00", "93.33"),
        ("PO-103", 1): ("37.03", "0.00")}
    post((GR, "37.03", "0"), (UNINVOICED, "0", "37.03"), (IR, "0", "93.33"), (UNRECEIVED, "93.33", "0"))
    lines.update({("PO-102", 1): ("0", "0"), ("PO-103", 1): ("0", "0")})
    del backorders[("PO-101", 1)], backorders[("PO-101", 2)], backorders[("PO-102", 1)]
    tie(books, ledger, lines, backorders)
    shown = as_json(books, "closeout", "show", "1")
    assert report_accounts(shown) == co1
    assert (shown["totals"], shown["undo_totals"]) == ({"debit": "130.36", "credit": "130.36", "balanced": True}, None)
    assert {(l["order"], l["line"]): (l["uninvoiced_amount"], l["unreceived_amount"]) for l in shown["lines"]} == {
        (l["order"], l["line"]): (l["uninvoiced_amount"], l["unreceived_amount"]) for l in run["lines"]}
    co1_csv = as_csv(books, "closeout", "show", "1")
    *accounts, total = co1_csv[2]
    assert {a["account"]: (cents(a["debit"]), cents(a["credit"])) for a in accounts} == co1
    assert (total["account"], total["debit"], total["credit"]) == ("Total", "130.36", "130.36")
    for suffix in ("csv", "json"):
        ok(books.cli("closeout", "show", "1", "--report", f"reprint.{suffix}"))
    reprint = json.loads((tmp_path / "reprint.json").read_text())
    assert report_accounts(reprint) == co1 and reprint["totals"] == run["totals"]
    reprinted = [list(csv.DictReader(io.StringIO(b))) for b in (tmp_path / "reprint.csv").read_text().split("\n\n")]
    *accounts, total = reprinted[1]
    assert {a["account"]: (cents(a["debit"]), cents(a["credit"])) for a in accounts} == co1
    assert (total["account"], total["debit"], total["credit"]) == ("Total", "130.36", "130.36")

    # as of the day before the close-out and its own day
    before_ledger, before_lines = before_closeouts
    tie(books, before_ledger, before_lines, {}, as_of="2026-11-19")
    tie(books, ledger, lines, {}, as_of="2026-11-20")

    # a document after the close-out's date: the invoice of the 150 it left to invoice
    invoices("i5", "I-5,ACME-502,2026-11-24,PO-101,1,150,0.1235,21")
    post((GR, "18.53", "0"), (VAT, "3.89", "0"), (CREDITORS, "0", "22.42"))
    lines.update({("PO-101", 1): ("0", "0")})
    tie(books, ledger, lines, backorders)
    tie(books, before_ledger, before_lines, {}, as_of="2026-11-19")

    # close-out 2: closed fully, PO-104, dated 11-25; its trial first
    trial = as_json(books, "closeout", "run", "--order", "PO-104", "--close-fully", "--date", "2026-11-25", "--trial")
    tie(books, ledger, lines, backorders)
    run = as_json(books, "closeout", "run", "--order", "PO-104", "--close-fully", "--date", "2026-11-25")
    co2 = co_accounts({IR: (D("0.00"), D("185.50")), UNRECEIVED: (D("185.50"), D("0.00"))})
    for report in (trial, run):
        assert report_accounts(report) == entry_accounts(report) == co2
        assert report["totals"] == {"debit": "185.50", "credit": "185.50", "balanced": True}
    ledger_before_co2, lines_before_co2 = dict(ledger), dict(lines)
    post((IR, "0", "185.50"), (UNRECEIVED, "185.50", "0"))
    lines.update({("PO-104", 1): ("0", "0")})
    del backorders[("PO-104", 1)]
    tie(books, ledger, lines, backorders)
    tie(books, ledger_before_co2, lines_before_co2, {}, as_of="2026-11-24")
    tie(books, ledger, lines, {}, as_of="2026-11-25")

    # its undo, dated 11-26, trial and real, as CSV and JSON
    undo_trial = as_json(books, "closeout", "undo", "--number", "2", "--date", "2026-11-26", "--trial")
    undo = as_json(books, "closeout", "undo", "--number", "2", "--date", "2026-11-26", "--report", "undo2.csv")
    for report in (undo_trial, undo):
        assert report["undo_of"] == 2 and report["closeout"] is None
        assert report_accounts(report) == entry_accounts(report) == co_accounts({IR: (D("185.50"), D("0.00")),
                                                                                 UNRECEIVED: (D("0.00"), D("185.50"))})
        assert report["totals"] == {"debit": "185.50", "credit": "185.50", "balanced": True}
    undo_csv = [list(csv.DictReader(io.StringIO(b))) for b in (tmp_path / "undo2.csv").read_text().split("\n\n")]
    *entry_rows, entry_total = undo_csv[0]
    assert sum((cents(r["debit"]) for r in entry_rows), D("0.00")) == cents(entry_total["debit"]) == D("185.50")
    assert sum((cents(r["credit"]) for r in entry_rows), D("0.00")) == cents(entry_total["credit"]) == D("185.50")
    post((IR, "185.50", "0"), (UNRECEIVED, "0", "185.50"))
    lines.update({("PO-104", 1): ("0", "185.50")})
    backorders.update({("PO-104", 1): ("1", "185.50")})
    tie(books, ledger, lines, backorders)
    tie(books, ledger_before_co2, lines_before_co2, {}, as_of="2026-11-24")
    shown = as_json(books, "closeout", "show", "2")
    assert shown["totals"] == {"debit": "185.50", "credit": "185.50", "balanced": True}
    assert shown["undo_totals"] == {"debit": "185.50", "credit": "185.50", "balanced": True}
    assert {a["account"]: (cents(a["debit"]), cents(a["credit"])) for a in shown["undo_accounts"]} == co_accounts({
        IR: (D("185.50"), D("0.00")), UNRECEIVED: (D("0.00"), D("185.50"))})
    grir = as_json(books, "report", "grir")
    assert [(r["order"], r["since"]) for r in grir["rows"]] == [("PO-104", "2026-11-13")]

    receipts("r7", "R-7,2026-11-27,PO-104,1,1")
    post((EXPENSE, "185.50", "0"), (IR, "0", "185.50"))
    lines.update({("PO-104", 1): ("0", "0")})
    del backorders[("PO-104", 1)]
    tie(books, ledger, lines, backorders)

    # the month by hand: every account, and the books balance
    assert {a: (f"{d:f}", f"{c:f}") for a, (d, c) in ledger.items() if d or c} == {
        STOCK: ("506.22", "6.17"), EXPENSE: ("742.00", "0.00"), GR: ("221.61", "221.61"), IR: ("1345.44", "1345.44"),
        PRICE_DIFF: ("0.22", "0.00"), VAT: ("218.13", "2.40"), CREDITORS: ("42.40", "1556.70"),
        UNRECEIVED: ("278.83", "185.50"), UNINVOICED: ("0.00", "37.03")}
    assert [o["status"] for o in as_json(books, "po", "list")] == ["closed"] * 4


def test_a_backorder_amount_is_what_receiving_the_rest_posts(month, tmp_path):
    """17 NUT of 37 at 2.4999 less 2.5 % (p = 2.437403) still to come, 20 received: the order line
    is worth value(37) = 90.18 (`po list`), the 20 received posted value(20) = 48.75 to stock, and
    receiving the 17 posts value(37) - value(20) = 41.43 (DOMAIN.md: partial receipts add up to
    what one receipt of the sum posts). The backorder list said value(17) = 41.435851 -> 41.44:
    received and in backorder made 90.19 of a line worth 90.18, and the receipt of the backorder
    posted a cent less than the list said it was worth."""
    books = month
    ok(books.cli("import", "receipts", write(tmp_path / "r.csv", RECEIPTS, "R-1,2026-11-03,PO-101,2,20")))
    (row,) = [r for r in as_json(books, "report", "backorders", "--item", "NUT")]
    (csv_table,) = as_csv(books, "report", "backorders", "--item", "NUT")
    ok(books.cli("import", "receipts", write(tmp_path / "r2.csv", RECEIPTS, "R-2,2026-11-04,PO-101,2,17")))
    (stock,) = [r for r in as_json(books, "journal", "show", "REC") if r["document"] == "receipt R-2" and r["account"] == STOCK]
    assert (row["in_backorder"], row["backorder_amount"], stock["debit"]) == ("17", "41.43", "41.43")
    assert [(r["supplier"], r["backorder_amount"]) for r in csv_table] == [("ACME", "41.43"), ("Total", "41.43")]
    assert cents(as_json(books, "po", "list", "--supplier", "ACME")[0]["amount"]) == D("123.50") + D("48.75") + D("41.43")
