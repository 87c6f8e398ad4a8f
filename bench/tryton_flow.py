"""Tryton 8.2's purchase flow, driven its fastest way: the peer figure for `bench flow`.

Runs INSIDE a virtual environment where Tryton 8.2 is installed; it imports only the
standard library, trytond (and its modules) and, for the setup only, proteus. Never
pledger's code.

What it measures, for N orders of ONE line each (one product, quantity 5, unit price
12.3456 EUR, 21 % supplier VAT, like pledger's flow):

  setup (timed apart): a fresh SQLite database file, modules purchase, account_invoice
      and stock activated with their dependencies (what `trytond-admin -d NAME -u ...
      --activate-dependencies` does, in process), then through Tryton's own test helpers
      (proteus): company in EUR, chart of accounts from the minimal template, fiscal year
      with periods and invoice sequences, a 21 % tax, an accounting product category
      (expense account), a goods product, a supplier, a "remainder" payment term.
  flow (timed): batches of --batch orders (default 100), each batch ONE transaction
      (Transaction().start(...) ... commit) calling the models' class methods on the
      whole list of records, in process (no RPC server, no proteus):
        Purchase.create, quote, confirm, process           -> incoming stock moves
        ShipmentIn.create (the purchase's moves), receive, do -> stock moves done
        Purchase.process (invoice method "fulfillment" creates the invoice here)
        Invoice.write(invoice_date), validate_invoice, post   -> the account move, posted
        Purchase.process                                     -> shipment/invoice states
      Without a queue worker, Tryton pushes `Purchase.process` to ir.queue and runs it
      after the commit; here the batch calls `Purchase.process` itself (the same code,
      on the same list) and drops the duplicate queue records before committing.
  check (not timed): read back from the database: N purchases with shipment state
      "received" and invoice state "awaiting payment" (Tryton only marks a purchase
      "done" once its invoice is PAID, which is outside this flow), N supplier shipments
      done, N supplier invoices posted, and every posted account move balanced (sum of
      debit == sum of credit, Decimal). Stock receipts post no journal entry without
      account_stock_continental/anglo_saxon, so account moves == invoices.

Run (the venv is made by bench/peer_tryton.py or by hand):

    python3 -m venv /work/tryton-venv
    /work/tryton-venv/bin/pip install 'trytond==8.2.*' 'trytond_purchase==8.2.*' \\
        'trytond_account_invoice==8.2.*' 'trytond_stock==8.2.*' 'proteus==8.2.*'
    /work/tryton-venv/bin/python bench/tryton_flow.py --orders 500 --json

Options: --orders N (500), --batch B (100), --workdir DIR (a temp dir, removed after),
--invoice-method fulfillment|order (fulfillment), --vat PERCENT (21; 0 for no tax),
--json (one JSON object on stdout's last line). Exits non-zero, with the reason on
stderr, when a count is wrong or a move is unbalanced.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from decimal import Decimal

DB_NAME = "pledger_bench"
MODULES = ["purchase", "account_invoice", "stock"]
QUANTITY = 5.0
UNIT_PRICE = Decimal("12.3456")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--invoice-method", choices=["fulfillment", "order"], default="fulfillment")
    parser.add_argument("--vat", type=Decimal, default=Decimal("21"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.orders < 1 or args.batch < 1:
        parser.error("--orders and --batch must be positive")
    return args


def log(message):
    print(message, file=sys.stderr, flush=True)


class FlowError(Exception):
    pass


# --- setup ------------------------------------------------------------------------


def create_database(name):
    """Fresh database with ir/res, the admin user, then the modules and their dependencies."""
    from sql import Table

    from trytond import backend
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    database = backend.Database(name)
    connection = database.get_connection()
    try:
        with connection.cursor() as cursor:
            database.init()
            ir_configuration = Table("ir_configuration")
            cursor.execute(*ir_configuration.insert([ir_configuration.language], [["en"]]))
        connection.commit()
    finally:
        database.put_connection(connection)

    Pool.start()
    pool = Pool(name)
    pool.init(update=["res", "ir"], lang=["en"])
    with Transaction().start(name, 0):
        User = pool.get("res.user")
        Lang = pool.get("ir.lang")
        Module = pool.get("ir.module")
        language, = Lang.search([("code", "=", "en")])
        language.translatable = True
        language.save()
        User.create([{"login": "admin", "name": "Administrator", "administrator": True,
                      "language": language.id}])
        Module.update_list()
    # trytond-admin -d NAME -u purchase account_invoice stock --activate-dependencies
    pool.init(update=list(MODULES), lang=["en"], activatedeps=True)
    with Transaction().start(name, 0):
        Module = pool.get("ir.module")
        activated = {m.name for m in Module.search([("state", "=", "activated")])}
    missing = set(MODULES) - activated
    if missing:
        raise FlowError(f"modules not activated: {sorted(missing)}")
    return pool


def create_master_data(name, vat):
    """Company, chart, fiscal year, tax, product, supplier, payment term: Tryton's test helpers."""
    from proteus import Model
    from proteus import config as pconfig
    from trytond.modules.account.tests.tools import (
        create_chart, create_fiscalyear, create_tax, get_accounts)
    from trytond.modules.account_invoice.tests.tools import (
        create_payment_term, set_fiscalyear_invoice_sequences)
    from trytond.modules.company.tests.tools import create_company, get_company

    config = pconfig.set_trytond(database=name)
    create_company(currency="EUR", config=config)
    company = get_company(config=config)
    create_chart(company, config=config)
    fiscalyear = set_fiscalyear_invoice_sequences(
        create_fiscalyear(company, today=dt.date.today(), config=config), config=config)
    fiscalyear.click("create_period")
    accounts = get_accounts(company, config=config)

    taxes = []
    if vat:
        tax = create_tax(vat / 100, company=company, config=config)
        tax.save()
        taxes.append(tax)

    ProductCategory = Model.get("product.category", config=config)
    category = ProductCategory(name="Purchased goods")
    category.accounting = True
    category.account_expense = accounts["expense"]
    category.account_revenue = accounts["revenue"]
    category.supplier_taxes.extend(taxes)
    category.save()

    Uom = Model.get("product.uom", config=config)
    unit, = Uom.find([("name", "=", "Unit")])
    Template = Model.get("product.template", config=config)
    template = Template()
    template.name = "Item 1"
    template.default_uom = unit
    template.type = "goods"
    template.purchasable = True
    template.list_price = Decimal("20")
    template.cost_price_method = "fixed"
    template.account_category = category
    template.save()
    product, = template.products

    Party = Model.get("party.party", config=config)
    supplier = Party(name="Supplier NV")
    supplier.save()

    payment_term = create_payment_term(config=config)
    payment_term.save()

    # The flow's transactions lock the strict sequences (invoice and move numbers) and
    # the journal periods; declared up front, as a Transaction().start(...) caller may.
    SequenceStrict = Model.get("ir.sequence.strict", config=config)
    locks = {
        "_lock_records": {"ir_sequence_strict": [s.id for s in SequenceStrict.find([])]},
        "_lock_tables": ["account_journal_period"],
    }

    User = Model.get("res.user", config=config)
    return {
        "locks": locks,
        "company": company.id,
        "user": config.user,
        "context": User.get_preferences(True, {}),
        "product": product.id,
        "supplier": supplier.id,
        "payment_term": payment_term.id,
    }


# --- flow ---------------------------------------------------------------------------


def run_batch(pool, name, data, size, invoice_method, today, extras):
    """All steps for `size` orders in one transaction, class methods on the whole list.

    The transaction starts with the locks the flow needs declared (`extras`, from the
    setup). Should one be missing, it does what Tryton's RPC dispatcher does on a
    TransactionError: roll back, declare the lock, restart (and keep it for the next
    batches). Returns the number of restarts (0 expected).
    """
    from trytond.transaction import TransactionError

    restarts = 0
    while True:
        try:
            _batch(pool, name, data, size, invoice_method, today, extras)
            return restarts
        except TransactionError as error:
            error.fix(extras)
            restarts += 1
            log(f"  restart: {type(error).__name__} {extras}")
            if restarts > 10:
                raise


def _batch(pool, name, data, size, invoice_method, today, extras):
    from trytond.transaction import Transaction

    Purchase = pool.get("purchase.purchase")
    Shipment = pool.get("stock.shipment.in")
    Invoice = pool.get("account.invoice")
    Product = pool.get("product.product")
    Party = pool.get("party.party")
    Queue = pool.get("ir.queue")

    with Transaction().start(name, data["user"], context=data["context"], **extras) as transaction:
        product = Product(data["product"])
        supplier = Party(data["supplier"])
        invoice_address = supplier.address_get(type="invoice")
        tax_ids = [t.id for t in product.supplier_taxes_used]
        line = {
            "type": "line",
            "product": product.id,
            "description": product.name,
            "quantity": QUANTITY,
            "unit": product.purchase_uom.id,
            "unit_price": UNIT_PRICE,
            "taxes": [("add", tax_ids)],
        }
        purchases = Purchase.create([{
            "company": data["company"],
            "party": supplier.id,
            "invoice_address": invoice_address.id,
            "payment_term": data["payment_term"],
            "invoice_method": invoice_method,
            "lines": [("create", [dict(line)])],
        } for _ in range(size)])
        ids = [p.id for p in purchases]
        Purchase.quote(purchases)
        Purchase.confirm(purchases)
        Purchase.process(Purchase.browse(ids))

        purchases = Purchase.browse(ids)
        warehouse = purchases[0].warehouse
        shipments = Shipment.create([{
            "company": data["company"],
            "supplier": supplier.id,
            "warehouse": warehouse.id,
            "warehouse_input": warehouse.input_location.id,
            "warehouse_storage": warehouse.storage_location.id,
            "incoming_moves": [("add", [m.id for m in p.moves])],
        } for p in purchases])
        Shipment.receive(shipments)
        Shipment.do(shipments)
        Purchase.process(Purchase.browse(ids))

        invoices = [i for p in Purchase.browse(ids) for i in p.invoices]
        if len(invoices) != size:
            raise FlowError(f"{len(invoices)} invoices for {size} purchases")
        Invoice.write(invoices, {"invoice_date": today})
        Invoice.validate_invoice(invoices)
        Invoice.post(invoices)
        Purchase.process(Purchase.browse(ids))

        # The Purchase.process calls the documents pushed to ir.queue (run after the
        # commit when there is no worker) were done above, on the same lists.
        if transaction.tasks:
            Queue.delete(Queue.browse(transaction.tasks))
            transaction.tasks.clear()
        transaction.commit()


def run_flow(pool, name, data, orders, batch, invoice_method):
    today = dt.date.today()
    done = restarts = 0
    extras = json.loads(json.dumps(data["locks"]))
    while done < orders:
        size = min(batch, orders - done)
        start = time.perf_counter()
        restarts += run_batch(pool, name, data, size, invoice_method, today, extras)
        done += size
        log(f"  batch of {size}: {time.perf_counter() - start:.2f} s ({done}/{orders})")
    return restarts


# --- check --------------------------------------------------------------------------


def check(pool, name, data, orders):
    """Counts and balance, read back from the database after the flow."""
    from trytond.transaction import Transaction

    with Transaction().start(name, data["user"], readonly=True, context=data["context"]):
        Purchase = pool.get("purchase.purchase")
        Shipment = pool.get("stock.shipment.in")
        Invoice = pool.get("account.invoice")
        Move = pool.get("account.move")
        Line = pool.get("account.move.line")
        StockMove = pool.get("stock.move")

        purchases = Purchase.search([])
        states = defaultdict(int)
        for p in purchases:
            states[(p.state, p.shipment_state, p.invoice_state)] += 1
        completed = states[("processing", "received", "awaiting payment")]
        shipments_done = Shipment.search_count([("state", "=", "done")])
        invoices_posted = Invoice.search_count([("type", "=", "in"), ("state", "=", "posted")])
        stock_moves_done = StockMove.search_count([("state", "=", "done")])
        moves = Move.search([])
        posted = [m for m in moves if m.state == "posted"]
        sums = {m.id: [Decimal(0), Decimal(0)] for m in posted}
        lines = Line.search_read([("move", "in", list(sums))], fields_names=["move", "debit", "credit"])
        for line in lines:
            sums[line["move"]][0] += line["debit"]
            sums[line["move"]][1] += line["credit"]
        unbalanced = [mid for mid, (d, c) in sums.items() if d != c]
        total = sum((d for d, _ in sums.values()), Decimal(0))

    result = {
        "purchases": len(purchases),
        "purchase_states": {"/".join(k): v for k, v in sorted(states.items())},
        "purchases_received_and_invoiced": completed,
        "shipments_done": shipments_done,
        "stock_moves_done": stock_moves_done,
        "invoices_posted": invoices_posted,
        "account_moves_total": len(moves),
        "account_moves": len(posted),
        "account_move_lines": len(lines),
        "moves_checked_balanced": len(posted) - len(unbalanced),
        "unbalanced": len(unbalanced),
        "debit_total": str(total),
    }
    errors = []
    if result["purchases"] != orders or completed != orders:
        errors.append(f"{completed} of {orders} purchases received and invoiced "
                      f"(states: {result['purchase_states']})")
    if shipments_done != orders:
        errors.append(f"{shipments_done} supplier shipments done, expected {orders}")
    if invoices_posted != orders:
        errors.append(f"{invoices_posted} supplier invoices posted, expected {orders}")
    if len(posted) < orders or len(posted) != len(moves):
        errors.append(f"{len(posted)} posted account moves of {len(moves)}, expected >= {orders}")
    if unbalanced:
        errors.append(f"{len(unbalanced)} unbalanced account moves, e.g. ids {unbalanced[:5]}")
    return result, errors


# --- main ---------------------------------------------------------------------------


def main(argv=None):
    args = parse_args(argv)
    workdir = args.workdir or tempfile.mkdtemp(prefix="tryton-flow-")
    temporary = args.workdir is None
    os.makedirs(workdir, exist_ok=True)
    db_file = os.path.join(workdir, DB_NAME + ".sqlite")
    if os.path.exists(db_file):
        os.remove(db_file)
    open(db_file, "w").close()
    # trytond reads its configuration when first imported: [database] uri, path.
    os.environ["TRYTOND_DATABASE_URI"] = "sqlite://"
    os.environ["TRYTOND_DATABASE__PATH"] = os.path.abspath(workdir)
    os.environ.pop("TRYTOND_CONFIG", None)
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)

    import trytond

    try:
        log(f"tryton {trytond.__version__}: setup in {workdir}")
        start = time.perf_counter()
        pool = create_database(DB_NAME)
        data = create_master_data(DB_NAME, args.vat)
        setup_seconds = time.perf_counter() - start
        log(f"setup: {setup_seconds:.2f} s; flow: {args.orders} orders, batches of {args.batch}")

        start = time.perf_counter()
        restarts = run_flow(pool, DB_NAME, data, args.orders, args.batch, args.invoice_method)
        flow_seconds = time.perf_counter() - start
        log(f"flow: {flow_seconds:.2f} s")

        result, errors = check(pool, DB_NAME, data, args.orders)
    finally:
        if temporary:
            shutil.rmtree(workdir, ignore_errors=True)

    summary = {
        "tool": "tryton",
        "version": trytond.__version__,
        "orders": args.orders,
        "batch": args.batch,
        "db": "sqlite",
        "setup_seconds": round(setup_seconds, 3),
        "flow_seconds": round(flow_seconds, 3),
        "seconds_per_order": round(flow_seconds / args.orders, 6),
        "account_moves": result["account_moves"],
        "moves_checked_balanced": result["moves_checked_balanced"],
        "unbalanced": result["unbalanced"],
        "invoice_method": args.invoice_method,
        "python": platform.python_version(),
        "vat_rate": str(args.vat),
        "transaction_restarts": restarts,
        "details": result,
    }
    if args.json:
        print(json.dumps(summary))
    else:
        for key, value in summary.items():
            print(f"{key}: {value}")
    if errors:
        for error in errors:
            log(f"FAILED: {error}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
