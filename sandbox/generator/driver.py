"""The order a company is made in: settings and name lists, then transactions, then what depends on
all of them (balances, attachments)."""

from __future__ import annotations

import gc
from collections.abc import Callable
from datetime import date, timedelta

from sandbox.clock import company_today
from sandbox.generator.attachments import make_attachables
from sandbox.generator.bills import make_bills
from sandbox.generator.budgets import make_budgets
from sandbox.generator.chart_of_accounts import plan_accounts
from sandbox.generator.closing_balances import write_accounts, write_parties
from sandbox.generator.company_settings import write_company
from sandbox.generator.context import Context
from sandbox.generator.customers import make_customers
from sandbox.generator.employees import make_employees
from sandbox.generator.invoices import make_invoices
from sandbox.generator.items import make_items
from sandbox.generator.journals_deposits_transfers import (
    deposit_builder,
    journal_entry_builder,
    transfer_builder,
)
from sandbox.generator.profiles import PROFILES
from sandbox.generator.purchases_and_vendor_credits import purchase_builder, vendor_credit_builder
from sandbox.generator.receipts_and_credits import (
    credit_memo_builder,
    refund_receipt_builder,
    sales_receipt_builder,
)
from sandbox.generator.setup_lists import settings_lists, tracking_lists
from sandbox.generator.streaming import stream
from sandbox.generator.time_activities import time_activity_builder
from sandbox.generator.vendors import make_vendors
from sandbox.store import Realm, Store


def populate(
    store: Store,
    realm: Realm,
    profile: str,
    seed: int,
    *,
    anchor: date | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Fill `realm` (already added to the store) with a generated company; returns rows per entity."""
    if profile not in PROFILES:
        raise ValueError(f"unknown company profile {profile!r}; expected one of: {', '.join(PROFILES)}")
    # by default the history ends yesterday: a company made today has nothing later than now (QBO never
    # stamps the future), and the same seed on the same day makes the same company
    anchor = anchor or company_today(realm.tz) - timedelta(days=1)
    ctx = Context(store, realm, PROFILES[profile], seed, anchor, progress)
    collecting = gc.isenabled()
    gc.disable()  # millions of short-lived acyclic dicts: refcounting frees them, cycle scans only cost time
    try:
        generate(ctx)
    finally:
        if collecting:
            gc.enable()
    return dict(sorted(ctx.counts.items()))


def generate(ctx: Context) -> None:
    plan_accounts(ctx)
    write_company(ctx)
    settings_lists(ctx)
    tracking_lists(ctx)
    make_items(ctx)
    make_employees(ctx)
    make_customers(ctx)
    make_vendors(ctx)
    ctx.progress("master data done")
    ctx.fill_pools()
    p = ctx.profile
    make_invoices(ctx)
    make_bills(ctx)
    if ctx.customer_pool and ctx.item_pool:
        stream(ctx, "SalesReceipt", p.sales_receipts, sales_receipt_builder(ctx))
        stream(ctx, "CreditMemo", p.credit_memos, credit_memo_builder(ctx))
        stream(ctx, "RefundReceipt", p.refund_receipts, refund_receipt_builder(ctx))
    stream(ctx, "JournalEntry", p.journal_entries, journal_entry_builder(ctx))
    stream(ctx, "Deposit", p.deposits, deposit_builder(ctx))
    if ctx.vendor_pool:
        stream(ctx, "Purchase", p.purchases, purchase_builder(ctx))
        stream(ctx, "VendorCredit", p.vendor_credits, vendor_credit_builder(ctx))
    stream(ctx, "Transfer", p.transfers, transfer_builder(ctx))
    if ctx.employee_pool and ctx.customer_pool:
        stream(ctx, "TimeActivity", p.time_activities, time_activity_builder(ctx))
    make_budgets(ctx)
    write_parties(ctx)
    write_accounts(ctx)
    make_attachables(ctx)  # last: they point at records of every kind
    ctx.progress("done")
