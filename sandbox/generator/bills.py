"""Bills and the bill payments that settle them, streamed in chunks; purchase orders are placed
alongside, since a received order is closed by the bill entered from it."""

from __future__ import annotations

import random

from sandbox.generator.context import Context
from sandbox.generator.expense_forms import Purchase, expense_lines, expense_total
from sandbox.generator.purchase_orders import OrderRun, make_purchase_orders, start_order_run
from sandbox.generator.records import Sticky
from sandbox.generator.settlements import VENDOR_HABITS, Due, Settlement, settle, time_settlements
from sandbox.generator.timeline import stamp
from sandbox.generator.values import Doc, wire
from sandbox.rules.client_input import USD


def make_bills(ctx: Context) -> None:
    p = ctx.profile
    if not (p.bills or p.purchase_orders) or not ctx.vendor_pool:
        return
    rng, clock = ctx.rng("bills"), ctx.clock
    counts = clock.daily_counts(p.bills)
    vendors = Sticky(ctx.vendor_pool, 0.5)
    orders = start_order_run(ctx)
    pending: list[Purchase] = []
    made = 0
    for day in range(1, clock.last + 1):
        for ct in sorted(clock.business(rng, day) for _ in range(counts[day])):
            vendor = vendors.pick(rng, day)
            stock = vendor.expense_account is None and bool(ctx.stock_pool)
            lines, total = expense_lines(ctx, rng, vendor, day, stock and rng.random() < 0.8)
            pending.append(Purchase(vendor, day, ct, lines, total))
        if len(pending) >= p.chunk or day == clock.last:  # the last flush also places the open orders left
            flush_bills(ctx, rng, pending, orders, day)
            made += len(pending)
            if pending:
                ctx.progress(f"Bill {made:,}/{p.bills:,}")
            pending = []


def flush_bills(ctx: Context, rng: random.Random, bills: list[Purchase], orders: OrderRun, upto: int) -> None:
    clock = ctx.clock
    first = ctx.take_ids("Bill", len(bills))
    for n, bill in enumerate(bills):
        bill.id = first + n
    ordered = make_purchase_orders(ctx, orders, bills, upto)
    dues = []
    for n, bill in enumerate(bills):
        bound = bill.vendor.until + 1 if bill.vendor.until < clock.last else None
        dues.append(
            Due(
                n,
                bill.id,
                bill.vendor,
                bill.day,
                bill.ct,
                bill.total,
                bill.day + bill.vendor.term.days,
                bound,
            )
        )
    payments = settle(rng, dues, clock.last, VENDOR_HABITS)
    time_settlements(ctx, rng, "BillPayment", payments, VENDOR_HABITS)
    paid_by: dict[int, list[tuple[Settlement, int]]] = {}
    for payment in payments:
        for due, amount in payment.applied:
            paid_by.setdefault(due.index, []).append((payment, amount))
    ctx.write(
        "Bill",
        (bill_doc(ctx, rng, bill, paid_by.get(n, []), ordered.get(n)) for n, bill in enumerate(bills)),
    )
    ctx.write("BillPayment", (bill_payment_doc(ctx, rng, payment) for payment in payments))


def bill_doc(
    ctx: Context,
    rng: random.Random,
    bill: Purchase,
    paid_by: list[tuple[Settlement, int]],
    order_id: int | None = None,
) -> tuple[Doc, int, int]:
    clock = ctx.clock
    vendor = bill.vendor
    doc: Doc = {
        "SalesTermRef": vendor.term.ref,
        "DueDate": clock.iso(bill.day + vendor.term.days),
        "Balance": 0,
        **ctx.head(bill.id, bill.ct, bill.ct),
    }
    if rng.random() < 0.6:
        doc["DocNumber"] = str(rng.randint(1000, 99_999))
    doc |= {
        "TxnDate": clock.iso(bill.day),
        "CurrencyRef": USD,
        "LinkedTxn": [] if order_id is None else [{"TxnId": str(order_id), "TxnType": "PurchaseOrder"}],
        "Line": bill.lines,
        "VendorRef": vendor.ref,
        "APAccountRef": ctx.account("Accounts Payable (A/P)"),
        "TotalAmt": 0,
    }
    if ctx.departments and rng.random() < 0.3:
        doc["DepartmentRef"] = rng.choice(ctx.departments)
    expense_total("Bill", doc, bill.total, ctx.profile.fast_sales)
    open_cents, events = bill.total, []
    for payment, amount in sorted(paid_by, key=lambda pa: pa[0].ct):
        doc["LinkedTxn"].append({"TxnId": str(payment.id), "TxnType": "BillPayment"})
        open_cents -= amount
        events.append(payment.ct)
    events += clock.later(rng, bill.ct, 0.03, 1)
    doc["Balance"] = wire(open_cents)
    lut, sync = stamp(bill.ct, events)
    doc |= {"SyncToken": str(sync), "MetaData": clock.meta(bill.ct, lut)}
    vendor.balance += open_cents
    return doc, bill.ct, lut


def bill_payment_doc(ctx: Context, rng: random.Random, payment: Settlement) -> tuple[Doc, int, int]:
    clock = ctx.clock
    doc: Doc = {"VendorRef": payment.party.ref}
    if rng.random() < 0.8:
        doc |= {
            "PayType": "Check",
            "CheckPayment": {
                "BankAccountRef": ctx.account("Checking"),
                "PrintStatus": rng.choice(("NeedToPrint", "PrintComplete")),
            },
        }
    else:
        doc |= {"PayType": "CreditCard", "CreditCardPayment": {"CCAccountRef": ctx.account("Mastercard")}}
    lut, sync = stamp(payment.ct, clock.later(rng, payment.ct, 0.03, 1))
    doc |= {"TotalAmt": wire(payment.total), **ctx.head(payment.id, payment.ct, lut, sync)}
    if doc["PayType"] == "Check":
        doc["DocNumber"] = str(5000 + payment.id)
    doc |= {
        "TxnDate": clock.iso(payment.day),
        "CurrencyRef": USD,
        "APAccountRef": ctx.account("Accounts Payable (A/P)"),
        "Line": [
            {"Amount": wire(amount), "LinkedTxn": [{"TxnId": str(due.id), "TxnType": "Bill"}]}
            for due, amount in payment.applied
        ],
    }
    return doc, payment.ct, lut
