"""How big a company to make: the sizes the admin API and `qbo sandbox` offer by name."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    """How big a company to make: master counts are targets, document counts are exact."""

    name: str
    customers: int = 0  # top-level customers
    jobs: int = 0  # sub-customers (Job true) under them
    inactive_customers: int = 0
    vendors: int = 0
    inactive_vendors: int = 0
    services: int = 0
    inventory: int = 0
    non_inventory: int = 0
    item_category: bool = False  # a Category item with two sub-items ("Outdoor Furniture:Patio Chair")
    employees: int = 0
    classes: int = 0
    departments: int = 0
    customer_types: int = 0
    invoices: int = 0
    estimates: int = 0  # standalone; invoices converted from estimates bring their own
    estimate_share: float = 0.0  # share of invoices converted from an estimate
    bills: int = 0
    purchase_orders: int = 0  # a quarter still open; the rest were received, each closed by its bill
    sales_receipts: int = 0
    credit_memos: int = 0
    refund_receipts: int = 0
    vendor_credits: int = 0
    journal_entries: int = 0
    deposits: int = 0
    purchases: int = 0
    transfers: int = 0
    time_activities: int = 0
    budgets: int = 0
    attachables: int = 0  # notes and files attached to transactions, customers and vendors
    edge_cases: bool = False  # unicode / ~100-character names, an inactive item, ...
    fast_sales: bool = False  # integer-cents totals instead of the API's Decimal path (same bytes)
    chunk: int = 10_000  # documents per bulk_put
    reminder_cap: int = 1500  # overdue invoices in the last "send reminders" batch (one LastUpdatedTime)


# Tables read best as rows.
# fmt: off
PROFILES: dict[str, Profile] = {p.name: p for p in (
    Profile("empty"),
    Profile("tiny", customers=4, jobs=1, inactive_customers=1, vendors=3, services=5, inventory=5,
            non_inventory=5, employees=2, classes=1, departments=1, customer_types=1, invoices=10,
            estimates=1, bills=5, purchase_orders=2, sales_receipts=1, credit_memos=1, refund_receipts=1,
            vendor_credits=1, journal_entries=1, deposits=1, purchases=2, transfers=1, time_activities=3,
            budgets=1, attachables=3),
    Profile("demo", customers=48, jobs=12, inactive_customers=6, vendors=25, inactive_vendors=2, services=12,
            inventory=10, non_inventory=8, item_category=True, employees=8, classes=4, departments=3,
            customer_types=4, invoices=600, estimates=15, estimate_share=0.05, bills=250, purchase_orders=30,
            sales_receipts=40, credit_memos=12, refund_receipts=8, vendor_credits=10, journal_entries=24,
            deposits=30, purchases=80, transfers=12, time_activities=150, budgets=1, attachables=25,
            edge_cases=True),
    Profile("medium", customers=400, jobs=60, inactive_customers=30, vendors=80, inactive_vendors=5,
            services=40, inventory=30, non_inventory=20, item_category=True, employees=15, classes=6,
            departments=4, customer_types=5, invoices=100_000, estimates=1_000, estimate_share=0.02,
            bills=10_000, purchase_orders=600, sales_receipts=2_000, credit_memos=500, refund_receipts=200,
            vendor_credits=200, journal_entries=300, deposits=500, purchases=2_000, transfers=100,
            time_activities=2_000, budgets=2, attachables=500, edge_cases=True, fast_sales=True),
    Profile("large", customers=1700, jobs=300, inactive_customers=150, vendors=300, inactive_vendors=20,
            services=80, inventory=70, non_inventory=50, item_category=True, employees=40, classes=8,
            departments=6, customer_types=5, invoices=1_000_000, estimates=10_000, estimate_share=0.02,
            bills=100_000, purchase_orders=6_000, sales_receipts=20_000, credit_memos=5_000,
            refund_receipts=2_000, vendor_credits=2_000, journal_entries=3_000, deposits=5_000,
            purchases=20_000, transfers=1_000, time_activities=20_000, budgets=3, attachables=5_000,
            edge_cases=True, fast_sales=True),
)}
# fmt: on
