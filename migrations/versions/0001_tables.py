"""The tables: ledger (accounts, journals, years, periods, entries), purchase documents, close-outs.

Amounts, prices and quantities are BIGINT scaled integers (see ledger.types).


Revision ID: 0001
Revises: 
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounts')),
    sa.UniqueConstraint('code', name=op.f('uq_accounts_code'))
    )
    op.create_table('closeout_counter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_closeout_counter'))
    )
    # the one counter row exists from the start: concurrent close-outs only ever lock it
    op.execute("INSERT INTO closeout_counter (id, last_number) VALUES (1, 0)")
    op.create_table('closeouts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('closeout_date', sa.Date(), nullable=False),
    sa.Column('user_name', sa.String(length=128), nullable=False),
    sa.Column('run_at', sa.DateTime(), nullable=False),
    sa.Column('selection', sa.Text(), nullable=False),
    sa.Column('undone_by', sa.String(length=128), nullable=True),
    sa.Column('undone_at', sa.DateTime(), nullable=True),
    sa.Column('undo_date', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_closeouts')),
    sa.UniqueConstraint('number', name=op.f('uq_closeouts_number'))
    )
    with op.batch_alter_table('closeouts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_closeouts_user_name'), ['user_name'], unique=False)

    op.create_table('fiscal_years',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fiscal_years')),
    sa.UniqueConstraint('year', name=op.f('uq_fiscal_years_year'))
    )
    op.create_table('journals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journals')),
    sa.UniqueConstraint('code', name=op.f('uq_journals_code'))
    )
    op.create_table('ledger_settings',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_ledger_settings'))
    )
    op.create_table('suppliers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('vat_number', sa.String(length=32), nullable=True),
    sa.Column('endpoint_id', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suppliers')),
    sa.UniqueConstraint('code', name=op.f('uq_suppliers_code'))
    )
    op.create_table('entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('journal_id', sa.Integer(), nullable=False),
    sa.Column('fiscal_year_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('entry_date', sa.Date(), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('user_name', sa.String(length=128), nullable=False),
    sa.Column('posted_at', sa.DateTime(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['fiscal_year_id'], ['fiscal_years.id'], name=op.f('fk_entries_fiscal_year_id_fiscal_years')),
    sa.ForeignKeyConstraint(['journal_id'], ['journals.id'], name=op.f('fk_entries_journal_id_journals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entries')),
    sa.UniqueConstraint('journal_id', 'fiscal_year_id', 'number', name=op.f('uq_entries_journal_id'))
    )
    op.create_table('items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('stock_item', sa.Boolean(), nullable=False),
    sa.Column('unit', sa.String(length=8), nullable=False),
    sa.Column('min_stock', sa.BigInteger(), nullable=False),
    sa.Column('min_order_quantity', sa.BigInteger(), nullable=False),
    sa.Column('order_multiple', sa.BigInteger(), nullable=False),
    sa.Column('preferred_supplier_id', sa.Integer(), nullable=True),
    sa.Column('purchase_price', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['preferred_supplier_id'], ['suppliers.id'], name=op.f('fk_items_preferred_supplier_id_suppliers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_items')),
    sa.UniqueConstraint('code', name=op.f('uq_items_code'))
    )
    op.create_table('journal_counters',
    sa.Column('journal_id', sa.Integer(), nullable=False),
    sa.Column('fiscal_year_id', sa.Integer(), nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['fiscal_year_id'], ['fiscal_years.id'], name=op.f('fk_journal_counters_fiscal_year_id_fiscal_years')),
    sa.ForeignKeyConstraint(['journal_id'], ['journals.id'], name=op.f('fk_journal_counters_journal_id_journals')),
    sa.PrimaryKeyConstraint('journal_id', 'fiscal_year_id', name=op.f('pk_journal_counters'))
    )
    op.create_table('periods',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fiscal_year_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Integer(), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('locked', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['fiscal_year_id'], ['fiscal_years.id'], name=op.f('fk_periods_fiscal_year_id_fiscal_years')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_periods')),
    sa.UniqueConstraint('fiscal_year_id', 'month', name=op.f('uq_periods_fiscal_year_id'))
    )
    op.create_table('purchase_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('order_date', sa.Date(), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=False),
    sa.Column('buyer', sa.String(length=100), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('drop_shipment', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['supplier_id'], ['suppliers.id'], name=op.f('fk_purchase_orders_supplier_id_suppliers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_purchase_orders')),
    sa.UniqueConstraint('number', name=op.f('uq_purchase_orders_number'))
    )
    with op.batch_alter_table('purchase_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_purchase_orders_order_date'), ['order_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_purchase_orders_supplier_id'), ['supplier_id'], unique=False)

    op.create_table('purchase_settings',
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_purchase_settings_account_id_accounts')),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_purchase_settings'))
    )
    op.create_table('closeout_entries',
    sa.Column('closeout_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.ForeignKeyConstraint(['closeout_id'], ['closeouts.id'], name=op.f('fk_closeout_entries_closeout_id_closeouts')),
    sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], name=op.f('fk_closeout_entries_entry_id_entries')),
    sa.PrimaryKeyConstraint('closeout_id', 'entry_id', name=op.f('pk_closeout_entries'))
    )
    op.create_table('entry_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('debit', sa.BigInteger(), nullable=False),
    sa.Column('credit', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount_currency', sa.BigInteger(), nullable=False),
    sa.Column('rate', sa.BigInteger(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=True),
    sa.Column('order_line_id', sa.Integer(), nullable=True),
    sa.Column('document', sa.String(length=64), nullable=True),
    sa.Column('quantity', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_entry_lines_account_id_accounts')),
    sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], name=op.f('fk_entry_lines_entry_id_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entry_lines'))
    )
    with op.batch_alter_table('entry_lines', schema=None) as batch_op:
        batch_op.create_index('ix_entry_lines_account', ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_entry_lines_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index('ix_entry_lines_order_line_account', ['order_line_id', 'account_id'], unique=False)

    op.create_table('invoices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('supplier_invoice', sa.String(length=64), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('invoice_date', sa.Date(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('net_total', sa.BigInteger(), nullable=False),
    sa.Column('vat_total', sa.BigInteger(), nullable=False),
    sa.Column('user_name', sa.String(length=128), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], name=op.f('fk_invoices_entry_id_entries')),
    sa.ForeignKeyConstraint(['supplier_id'], ['suppliers.id'], name=op.f('fk_invoices_supplier_id_suppliers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoices')),
    sa.UniqueConstraint('number', name=op.f('uq_invoices_number')),
    sa.UniqueConstraint('supplier_id', 'supplier_invoice', name=op.f('uq_invoices_supplier_id'))
    )
    op.create_table('order_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('unit_price', sa.BigInteger(), nullable=False),
    sa.Column('discount_pct', sa.BigInteger(), nullable=False),
    sa.Column('net_price', sa.BigInteger(), nullable=False),
    sa.Column('vat_rate', sa.BigInteger(), nullable=False),
    sa.Column('expected_date', sa.Date(), nullable=True),
    sa.Column('received', sa.BigInteger(), nullable=False),
    sa.Column('invoiced', sa.BigInteger(), nullable=False),
    sa.Column('lowered_receive', sa.BigInteger(), nullable=False),
    sa.Column('lowered_invoice', sa.BigInteger(), nullable=False),
    sa.Column('written_off_uninvoiced', sa.BigInteger(), nullable=False),
    sa.Column('written_off_unreceived', sa.BigInteger(), nullable=False),
    sa.Column('last_closeout_number', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_order_lines_item_id_items')),
    sa.ForeignKeyConstraint(['order_id'], ['purchase_orders.id'], name=op.f('fk_order_lines_order_id_purchase_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_lines')),
    sa.UniqueConstraint('order_id', 'line_no', name=op.f('uq_order_lines_order_id'))
    )
    op.create_table('receipts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('receipt_date', sa.Date(), nullable=False),
    sa.Column('user_name', sa.String(length=128), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], name=op.f('fk_receipts_entry_id_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_receipts')),
    sa.UniqueConstraint('number', name=op.f('uq_receipts_number'))
    )
    op.create_table('closeout_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('closeout_id', sa.Integer(), nullable=False),
    sa.Column('order_line_id', sa.Integer(), nullable=False),
    sa.Column('to_receive_before', sa.BigInteger(), nullable=False),
    sa.Column('to_receive_after', sa.BigInteger(), nullable=False),
    sa.Column('to_invoice_before', sa.BigInteger(), nullable=False),
    sa.Column('to_invoice_after', sa.BigInteger(), nullable=False),
    sa.Column('uninvoiced_units', sa.BigInteger(), nullable=False),
    sa.Column('unreceived_units', sa.BigInteger(), nullable=False),
    sa.Column('uninvoiced_amount', sa.BigInteger(), nullable=False),
    sa.Column('unreceived_amount', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['closeout_id'], ['closeouts.id'], name=op.f('fk_closeout_lines_closeout_id_closeouts')),
    sa.ForeignKeyConstraint(['order_line_id'], ['order_lines.id'], name=op.f('fk_closeout_lines_order_line_id_order_lines')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_closeout_lines'))
    )
    with op.batch_alter_table('closeout_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_closeout_lines_closeout_id'), ['closeout_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_closeout_lines_order_line_id'), ['order_line_id'], unique=False)

    op.create_table('invoice_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('order_line_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('unit_price', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('vat_rate', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_invoice_lines_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['order_line_id'], ['order_lines.id'], name=op.f('fk_invoice_lines_order_line_id_order_lines')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_lines'))
    )
    with op.batch_alter_table('invoice_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_lines_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoice_lines_order_line_id'), ['order_line_id'], unique=False)

    op.create_table('receipt_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('receipt_id', sa.Integer(), nullable=False),
    sa.Column('order_line_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['order_line_id'], ['order_lines.id'], name=op.f('fk_receipt_lines_order_line_id_order_lines')),
    sa.ForeignKeyConstraint(['receipt_id'], ['receipts.id'], name=op.f('fk_receipt_lines_receipt_id_receipts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_receipt_lines'))
    )
    with op.batch_alter_table('receipt_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_receipt_lines_order_line_id'), ['order_line_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_receipt_lines_receipt_id'), ['receipt_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('receipt_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_receipt_lines_receipt_id'))
        batch_op.drop_index(batch_op.f('ix_receipt_lines_order_line_id'))

    op.drop_table('receipt_lines')
    with op.batch_alter_table('invoice_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_lines_order_line_id'))
        batch_op.drop_index(batch_op.f('ix_invoice_lines_invoice_id'))

    op.drop_table('invoice_lines')
    with op.batch_alter_table('closeout_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_closeout_lines_order_line_id'))
        batch_op.drop_index(batch_op.f('ix_closeout_lines_closeout_id'))

    op.drop_table('closeout_lines')
    op.drop_table('receipts')
    op.drop_table('order_lines')
    op.drop_table('invoices')
    with op.batch_alter_table('entry_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_entry_lines_order_line_account')
        batch_op.drop_index(batch_op.f('ix_entry_lines_entry_id'))
        batch_op.drop_index('ix_entry_lines_account')

    op.drop_table('entry_lines')
    op.drop_table('closeout_entries')
    op.drop_table('purchase_settings')
    with op.batch_alter_table('purchase_orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_purchase_orders_supplier_id'))
        batch_op.drop_index(batch_op.f('ix_purchase_orders_order_date'))

    op.drop_table('purchase_orders')
    op.drop_table('periods')
    op.drop_table('journal_counters')
    op.drop_table('items')
    op.drop_table('entries')
    op.drop_table('suppliers')
    op.drop_table('ledger_settings')
    op.drop_table('journals')
    op.drop_table('fiscal_years')
    with op.batch_alter_table('closeouts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_closeouts_user_name'))

    op.drop_table('closeouts')
    op.drop_table('closeout_counter')
    op.drop_table('accounts')

