"""Purchase orders: most received, each closed by the bill entered from it (linked both ways); the
rest still open, mostly recent."""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass

from sandbox.generator.context import Context
from sandbox.generator.expense_forms import Purchase, expense_lines, expense_total
from sandbox.generator.records import Pool
from sandbox.generator.timeline import HOUR, stamp
from sandbox.generator.values import Doc
from sandbox.rules.client_input import USD

PO_MEMOS = (
    "Please deliver to the side gate",
    "Call the office before delivery",
    "Deliver to the job site",
    "Partial shipments OK",
)


@dataclass(slots=True)
class OrderRun:
    """Purchase orders across bill chunks: bills still to enter from an order, open orders still to place."""

    rng: random.Random
    converted: int  # bills entered from a purchase order (which that bill closed), over the whole history
    open_days: deque[int]  # days of the orders nothing has been received for yet, in order
    vendors: Pool  # who an open order goes to: vendors still active
    since: dict[tuple[str, str], int]  # (entity, Id) -> first day it exists, for the lines an order copies
    bills_seen: int = 0
    converted_made: int = 0


def start_order_run(ctx: Context) -> OrderRun:
    p, clock = ctx.profile, ctx.clock
    rng = ctx.rng("purchase_orders")
    converted = min(p.purchase_orders - (p.purchase_orders + 2) // 4, p.bills)
    recent = max(1, clock.last - 59)
    days = sorted(  # mostly awaiting delivery; a few were forgotten long ago
        rng.randint(recent, clock.last) if rng.random() < 0.75 else rng.randint(1, clock.last)
        for _ in range(p.purchase_orders - converted)
    )
    active = [v for v in ctx.vendors if v.until == clock.last]
    since = {("Item", i.ref["value"]): i.since for i in ctx.items}
    since |= {("Customer", c.ref["value"]): c.since for c in ctx.customers}
    return OrderRun(rng, converted, deque(days), Pool(active, skew=1.3) if active else ctx.vendor_pool, since)


def make_purchase_orders(ctx: Context, orders: OrderRun, bills: list[Purchase], upto: int) -> dict[int, int]:
    """This chunk's purchase orders, ids in creation order: the ones its bills were entered from (closed by
    them, linked both ways) and the open ones dated up to `upto`. Returns the order Id per bill index."""
    p, clock, rng = ctx.profile, ctx.clock, orders.rng
    orders.bills_seen += len(bills)
    quota = orders.converted * orders.bills_seen // max(1, p.bills) - orders.converted_made
    quota = min(quota, len(bills))
    orders.converted_made += quota
    goods = [
        n
        for n, bill in enumerate(bills)
        if all(line["DetailType"] == "ItemBasedExpenseLineDetail" for line in bill.lines)
    ]
    chosen = rng.sample(goods, min(quota, len(goods)))  # orders are mostly for stock...
    if len(chosen) < quota:  # ... and otherwise for services and supplies billed to an account
        taken = set(goods)
        chosen += rng.sample([n for n in range(len(bills)) if n not in taken], quota - len(chosen))
    plans: list[tuple[Purchase, Purchase | None, int]] = []  # (order, the bill that closed it, its index)
    for n in sorted(chosen):
        bill = bills[n]
        day = max(earliest_order_day(orders, bill), bill.day - rng.randint(2, 30))
        ct = clock.business(rng, day)
        if ct >= bill.ct:
            ct = bill.ct - rng.randint(60, HOUR)
        plans.append((Purchase(bill.vendor, clock.day_of(ct), ct, bill.lines, bill.total), bill, n))
    while orders.open_days and orders.open_days[0] <= upto:
        day = orders.open_days.popleft()
        vendor = orders.vendors.pick(rng, day)
        stock = vendor.expense_account is None and bool(ctx.stock_pool)
        lines, total = expense_lines(ctx, rng, vendor, day, stock)
        plans.append((Purchase(vendor, day, clock.business(rng, day), lines, total), None, -1))
    plans.sort(key=lambda plan: plan[0].ct)
    first = ctx.take_ids("PurchaseOrder", len(plans))
    linked: dict[int, int] = {}
    docs = []
    for k, (order, bill, n) in enumerate(plans):
        order.id = first + k
        docs.append(purchase_order_doc(ctx, rng, order, bill))
        if bill is not None:
            linked[n] = order.id
    ctx.write("PurchaseOrder", docs)
    return linked


def earliest_order_day(orders: OrderRun, bill: Purchase) -> int:
    """The first day everything on the bill existed: its order cannot be older."""
    day = bill.vendor.since
    for line in bill.lines:
        detail = line.get("ItemBasedExpenseLineDetail") or line.get("AccountBasedExpenseLineDetail") or {}
        for key, entity in (("ItemRef", "Item"), ("CustomerRef", "Customer")):
            if key in detail:
                day = max(day, orders.since[entity, detail[key]["value"]])
    return day


def purchase_order_doc(
    ctx: Context, rng: random.Random, order: Purchase, bill: Purchase | None
) -> tuple[Doc, int, int]:
    """An order as it stands: open, or closed by the bill entered from it (that bill's creation is its
    last update)."""
    clock = ctx.clock
    vendor = order.vendor
    events = clock.later(rng, order.ct, 0.08, 1, clock.end if bill is None else bill.ct - 1)
    if bill is not None:
        events.append(bill.ct)
    lut, sync = stamp(order.ct, events)
    doc: Doc = {
        "APAccountRef": ctx.account("Accounts Payable (A/P)"),
        **ctx.head(order.id, order.ct, lut, sync),
        "DocNumber": str(1000 + order.id),
        "TxnDate": clock.iso(order.day),
        "CurrencyRef": USD,
        "POStatus": "Open" if bill is None else "Closed",
    }
    if bill is not None:
        doc["LinkedTxn"] = [{"TxnId": str(bill.id), "TxnType": "Bill"}]
    doc |= {"Line": order.lines, "VendorRef": vendor.ref}
    if vendor.bill_addr:
        doc["VendorAddr"] = vendor.bill_addr
    if rng.random() < 0.3:
        doc["Memo"] = rng.choice(PO_MEMOS)
    doc["TotalAmt"] = 0
    expense_total("PurchaseOrder", doc, order.total, ctx.profile.fast_sales)
    return doc, order.ct, lut
