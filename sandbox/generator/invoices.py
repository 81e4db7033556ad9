"""Invoices, the estimates some were converted from, and the customer payments that settle them,
streamed in chunks with each chunk's payments planned inside it."""

from __future__ import annotations

import random
from dataclasses import dataclass

from sandbox.generator.context import Context
from sandbox.generator.customers import NOTES
from sandbox.generator.records import Sticky
from sandbox.generator.sales_forms import Sale, plan_sale, sales_doc, total_sale, void_invoice
from sandbox.generator.settlements import CUSTOMER_HABITS, Due, Settlement, settle, time_settlements
from sandbox.generator.timeline import HOUR, stamp
from sandbox.generator.values import Doc, draw, wire
from sandbox.rules.client_input import USD


@dataclass
class InvoiceRun:
    """What survives between invoice chunks: the reminder batch and the estimate quota."""

    reminder_ts: int
    reminders_left: int
    estimates_made: int = 0
    invoices_made: int = 0


def make_invoices(ctx: Context) -> None:
    p = ctx.profile
    if not p.invoices or not ctx.customers:
        return
    rng, clock = ctx.rng("invoices"), ctx.clock
    month_starts = [d for d in range(1, clock.last + 1) if clock.date(d).day == 1]
    recurring = clock.daily_counts(round(p.invoices * 0.08), days=month_starts)
    normal = clock.daily_counts(p.invoices - sum(recurring))
    run = InvoiceRun(clock.at(clock.last - 1, 16 * HOUR + 30 * 60), p.reminder_cap)
    customers = Sticky(ctx.customer_pool, 0.45)
    pending: list[Sale] = []
    for day in range(1, clock.last + 1):
        today = [invoice_sale(ctx, rng, customers, day, clock.business(rng, day)) for _ in range(normal[day])]
        today += [
            invoice_sale(ctx, rng, customers, day, clock.at(day, 5 * HOUR)) for _ in range(recurring[day])
        ]
        today.sort(key=lambda s: s.ct)
        pending += today
        if len(pending) >= p.chunk or (day == clock.last and pending):
            flush_invoices(ctx, rng, pending, run)
            pending = []


def invoice_sale(ctx: Context, rng: random.Random, customers: Sticky, day: int, ct: int) -> Sale:
    sale = plan_sale(ctx, rng, customers.pick(rng, day), day, ct)
    # converted from an estimate (made in the flush, once ids exist); recurring runs never are
    sale.from_estimate = rng.random() < ctx.profile.estimate_share and ct >= ctx.clock.at(day, 8 * HOUR)
    return sale


def flush_invoices(ctx: Context, rng: random.Random, sales: list[Sale], run: InvoiceRun) -> None:
    p, clock = ctx.profile, ctx.clock
    first = ctx.take_ids("Invoice", len(sales))
    for n, sale in enumerate(sales):
        sale.id = first + n
    estimates = make_estimates(ctx, rng, sales, run)
    voids: dict[int, int] = {}
    dues: list[Due] = []
    for n, sale in enumerate(sales):
        bound = sale.customer.until + 1 if sale.customer.until < clock.last else None
        if bound is None and sale.estimate is None and rng.random() < 0.02:
            ts = clock.business(rng, min(clock.last, sale.day + rng.randint(0, 10)))
            voids[n] = ts if ts > sale.ct else sale.ct + rng.randint(60, HOUR)
        elif sale.total > 0:
            due_day = sale.day + sale.customer.term.days
            dues.append(Due(n, sale.id, sale.customer, sale.day, sale.ct, sale.total, due_day, bound))
    payments = settle(rng, dues, clock.last, CUSTOMER_HABITS)
    for payment in payments:
        if rng.random() < 0.04:
            payment.extra = rng.randint(5, 150) * 100  # overpaid: the rest stays unapplied
    payments += prepayments(ctx, rng, sales)
    time_settlements(ctx, rng, "Payment", payments, CUSTOMER_HABITS)
    applied: dict[int, list[tuple[Settlement, int]]] = {}
    for payment in payments:
        for due, amount in payment.applied:
            applied.setdefault(due.index, []).append((payment, amount))
    ctx.write(
        "Invoice",
        (invoice_doc(ctx, rng, s, applied.get(n, []), voids.get(n), run) for n, s in enumerate(sales)),
    )
    ctx.write("Estimate", estimates)
    ctx.write("Payment", (payment_doc(ctx, rng, payment) for payment in payments))
    run.invoices_made += len(sales)
    ctx.progress(f"Invoice {run.invoices_made:,}/{p.invoices:,}")


def prepayments(ctx: Context, rng: random.Random, sales: list[Sale]) -> list[Settlement]:
    """Money received before anything is invoiced: a payment with no lines, all of it unapplied."""
    made = []
    for _ in range(int(len(sales) * 0.004 + rng.random())):
        day = rng.randint(sales[0].day, sales[-1].day)
        made.append(Settlement(ctx.customer_pool.pick(rng, day), day, [], extra=rng.randint(50, 2000) * 100))
    return made


def make_estimates(
    ctx: Context, rng: random.Random, sales: list[Sale], run: InvoiceRun
) -> list[tuple[Doc, int, int]]:
    """Estimates converted into this chunk's invoices (linked both ways) and its share of standalone ones."""
    p, clock = ctx.profile, ctx.clock
    made: list[tuple[Sale, str, int, int | None]] = []  # (estimate, TxnStatus, last update, invoice Id)
    for sale in sales:
        if not sale.from_estimate:
            continue
        day = max(sale.customer.since, sale.day - rng.randint(1, 21))
        ct = clock.business(rng, day)
        ct = ct if ct < sale.ct else sale.ct - rng.randint(60, HOUR)
        estimate = Sale(
            sale.customer,
            clock.day_of(ct),
            ct,
            sale.lines,
            sale.discount_percent,
            sale.discount_fixed,
            sale.taxed,
            class_ref=sale.class_ref,
            department_ref=sale.department_ref,
        )
        total_sale(estimate, ctx.tax.basis_points)
        sale.estimate = estimate
        made.append((estimate, "Closed", sale.ct, sale.id))  # converting it closed it: one update
    done = run.invoices_made + len(sales)
    quota = p.estimates * done // p.invoices - run.estimates_made
    run.estimates_made += quota
    for _ in range(quota):
        day = rng.randint(sales[0].day, sales[-1].day)
        estimate = plan_sale(ctx, rng, ctx.customer_pool.pick(rng, day), day, clock.business(rng, day))
        status = "Pending" if day > clock.last - 30 else rng.choice(("Accepted", "Rejected", "Pending"))
        answered = status != "Pending"  # accepting or rejecting it is an update, within a month
        stop = min(clock.end, estimate.ct + 30 * 86400)
        lut = max(clock.later(rng, estimate.ct, 1.0 if answered else 0.1, 1, stop), default=estimate.ct)
        made.append((estimate, status, lut, None))
    made.sort(key=lambda m: m[0].ct)
    first = ctx.take_ids("Estimate", len(made))
    docs = []
    for n, (estimate, status, lut, invoice_id) in enumerate(made):
        estimate.id = first + n
        doc = sales_doc(
            ctx,
            "Estimate",
            estimate,
            p.fast_sales,
            TxnStatus=status,
            ExpirationDate=clock.iso(estimate.day + 30),
        )
        if invoice_id is not None:
            doc["LinkedTxn"].append({"TxnId": str(invoice_id), "TxnType": "Invoice"})
        if status == "Accepted":
            doc |= {
                "AcceptedBy": estimate.customer.doc["PrintOnCheckName"],
                "AcceptedDate": clock.iso(clock.day_of(lut)),
            }
        doc |= {"SyncToken": "0" if lut == estimate.ct else "1", "MetaData": clock.meta(estimate.ct, lut)}
        docs.append((doc, estimate.ct, lut))
    return docs


def invoice_doc(
    ctx: Context,
    rng: random.Random,
    sale: Sale,
    paid_by: list[tuple[Settlement, int]],
    void_ts: int | None,
    run: InvoiceRun,
) -> tuple[Doc, int, int]:
    """The invoice as it stands at the anchor: every payment applied (each one an update), void, reminder."""
    clock = ctx.clock
    doc = sales_doc(ctx, "Invoice", sale, ctx.profile.fast_sales)
    events: list[int] = []
    if sale.estimate is not None:
        doc["LinkedTxn"].append({"TxnId": str(sale.estimate.id), "TxnType": "Estimate"})
    open_cents = sale.total
    for payment, amount in sorted(paid_by, key=lambda pa: pa[0].ct):
        doc["LinkedTxn"].append({"TxnId": str(payment.id), "TxnType": "Payment"})
        open_cents -= amount
        events.append(payment.ct)
    if rng.random() < 0.04:  # someone fixed a detail later
        events.append(min(clock.end, sale.ct + rng.randint(300, 5 * 86400)))
        doc["PrivateNote"] = rng.choice(NOTES)
    if void_ts is not None:
        void_invoice(doc)
        events.append(void_ts)
        open_cents = 0
    doc["Balance"] = wire(open_cents)
    overdue = sale.day + sale.customer.term.days < clock.last - 1
    if (
        open_cents > 0
        and overdue
        and sale.customer.email
        and run.reminders_left > 0
        and max(events, default=sale.ct) < run.reminder_ts
    ):
        run.reminders_left -= 1  # the "send reminders" batch action: one second for all of them
        doc["EmailStatus"] = "EmailSent"
        doc["DeliveryInfo"] = {"DeliveryType": "Email", "DeliveryTime": clock.format(run.reminder_ts)}
        events.append(run.reminder_ts)
    lut, sync = stamp(sale.ct, events)
    doc |= {"SyncToken": str(sync), "MetaData": clock.meta(sale.ct, lut)}
    sale.customer.balance += open_cents
    return doc, sale.ct, lut


def payment_doc(ctx: Context, rng: random.Random, payment: Settlement) -> tuple[Doc, int, int]:
    clock = ctx.clock
    method = draw(rng, ctx.method_table)
    to_bank = rng.random() < 0.15
    doc: Doc = {
        "CustomerRef": payment.party.ref,
        "DepositToAccountRef": ctx.account("Checking" if to_bank else "Undeposited Funds"),
        "PaymentMethodRef": method,
    }
    if method["name"] == "Check":
        doc["PaymentRefNum"] = str(rng.randint(1000, 9999))
    lut, sync = stamp(payment.ct, clock.later(rng, payment.ct, 0.03, 1))
    doc |= {
        "TotalAmt": wire(payment.total),
        "UnappliedAmt": wire(payment.extra),
        "ProcessPayment": False,
        **ctx.head(payment.id, payment.ct, lut, sync),
        "TxnDate": clock.iso(payment.day),
        "CurrencyRef": USD,
    }
    if not payment.applied:
        doc["PrivateNote"] = "Deposit received in advance"
    doc["Line"] = [
        {"Amount": wire(amount), "LinkedTxn": [{"TxnId": str(due.id), "TxnType": "Invoice"}]}
        for due, amount in payment.applied
    ]
    if not to_bank:
        ctx.undeposited += payment.total
    return doc, payment.ct, lut
