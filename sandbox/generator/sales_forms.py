"""Sales forms (invoices, estimates, receipts, credit memos, refunds) planned in integer cents and built
through the API's own arithmetic, or its integer twin that the tests prove byte-identical."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from sandbox.generator.company_settings import MEMO
from sandbox.generator.context import Context
from sandbox.generator.records import Item, Party
from sandbox.generator.values import Doc, Ref, draw, weighted_table, wire
from sandbox.rules.client_input import USD
from sandbox.transactions import normalise_lines, sales_totals, void_amounts


@dataclass(slots=True)
class SaleLine:
    item: Item
    qty: int | float
    price: int  # cents
    amount: int  # cents: Qty * UnitPrice rounded half-up, as the API rounds it
    describe: bool


@dataclass(slots=True)
class Sale:
    """A sales form's content before it is a document: who, when, what, and what it adds up to (cents)."""

    customer: Party
    day: int
    ct: int
    lines: list[SaleLine]
    discount_percent: int = 0
    discount_fixed: int = 0
    taxed: bool = False
    subtotal: int = 0
    discount: int = 0
    taxable: int = 0
    tax: int = 0
    total: int = 0
    class_ref: Ref | None = None
    department_ref: Ref | None = None
    id: int = 0
    from_estimate: bool = False  # invoices: converted from an estimate...
    estimate: Sale | None = None  # ... this one


SERVICE_QTY = (1, 1, 2, 2, 3, 4, 5, 6, 8, 10, 1.5, 2.5, 3.5, 0.5)
SALE_LINE_COUNTS = weighted_table((1, 2, 3, 4, 5), (30, 30, 20, 12, 8))


def plan_sale(ctx: Context, rng: random.Random, customer: Party, day: int, ct: int) -> Sale:
    """Lines, discount and tax for one sales form, totalled in integer cents."""
    lines = []
    for _ in range(draw(rng, SALE_LINE_COUNTS)):
        item = ctx.item_pool.pick(rng, day)
        qty: int | float = rng.choice(SERVICE_QTY) if item.type == "Service" else rng.randint(1, 12)
        price = item.price
        if not price or rng.random() < 0.2:
            base = price or rng.randint(20, 150) * 100
            price = max(25, base * rng.randint(90, 125) // 100 // 25 * 25)
        amount = (int(qty * 2) * price + 1) // 2
        lines.append(SaleLine(item, qty, price, amount, rng.random() < 0.7))
    sale = Sale(customer, day, ct, lines)
    subtotal = sum(line.amount for line in lines)
    roll = rng.random()
    if roll < 0.06:
        sale.discount_percent = rng.choice((5, 10, 15))
    elif roll < 0.09 and subtotal >= 2000:
        sale.discount_fixed = rng.randint(1, subtotal // 1000) * 100
    sale.taxed = customer.taxable and any(line.item.taxable for line in lines)
    if ctx.classes and rng.random() < 0.5:
        sale.class_ref = rng.choice(ctx.classes)
    if ctx.departments and rng.random() < 0.4:
        sale.department_ref = rng.choice(ctx.departments)
    total_sale(sale, ctx.tax.basis_points)
    return sale


def total_sale(sale: Sale, basis_points: int) -> None:
    """What `sales_totals` computes, in cents: subtotal, discount, tax (half-up) and total."""
    sale.subtotal = sum(line.amount for line in sale.lines)
    sale.taxable = sum(line.amount for line in sale.lines if line.item.taxable)
    if sale.discount_percent:
        sale.discount = (sale.subtotal * sale.discount_percent + 50) // 100
    else:
        sale.discount = sale.discount_fixed
    sale.tax = (sale.taxable * basis_points + 5000) // 10000 if sale.taxed else 0
    sale.total = sale.subtotal - sale.discount + sale.tax


def sale_lines(ctx: Context, sale: Sale) -> list[Doc]:
    """The Line array a client would send (amounts included, as clients do; the API checks them)."""
    lines: list[Doc] = []
    for num, line in enumerate(sale.lines, start=1):
        item = line.item
        doc: Doc = {"Id": str(num), "LineNum": num}
        if line.describe and item.description:
            doc["Description"] = item.description
        doc |= {
            "Amount": wire(line.amount),
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {
                "ItemRef": item.ref,
                "UnitPrice": wire(line.price),
                "Qty": line.qty,
                "TaxCodeRef": {"value": "TAX" if item.taxable else "NON"},
            },
        }
        lines.append(doc)
    if sale.discount_percent or sale.discount_fixed:
        detail: Doc = {"PercentBased": bool(sale.discount_percent)}
        if sale.discount_percent:
            detail["DiscountPercent"] = sale.discount_percent
        detail["DiscountAccountRef"] = ctx.account("Discounts given")
        lines.append(
            {
                "Amount": wire(sale.discount_fixed),
                "DetailType": "DiscountLineDetail",
                "DiscountLineDetail": detail,
            }
        )
    return lines


def apply_totals(ctx: Context, entity: str, doc: Doc, sale: Sale, fast: bool) -> None:
    """Fill Line, TxnTaxDetail and TotalAmt: through the API's arithmetic, or its integer twin."""
    if not fast:
        doc["Line"] = normalise_lines(entity, doc["Line"])
        tax = ctx.tax
        sales_totals(doc, tax.percent if sale.taxed else None, tax.rate_id if sale.taxed else None)
        if doc["TotalAmt"] != wire(sale.total):
            raise AssertionError(f"{entity} arithmetic drifted: {doc['TotalAmt']} != {wire(sale.total)}")
        return
    lines = doc["Line"]
    discount = lines.pop() if sale.discount_percent or sale.discount_fixed else None
    lines.append(
        {"Amount": wire(sale.subtotal), "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}
    )
    if discount is not None:
        discount["Amount"] = wire(sale.discount)
        lines.append(discount)
    if sale.taxed:
        detail = doc["TxnTaxDetail"]
        detail["TotalTax"] = wire(sale.tax)
        detail["TaxLine"] = [
            {
                "Amount": wire(sale.tax),
                "DetailType": "TaxLineDetail",
                "TaxLineDetail": {
                    "TaxRateRef": {"value": ctx.tax.rate_id},
                    "PercentBased": True,
                    "TaxPercent": ctx.tax.wire_percent,
                    "NetAmountTaxable": wire(sale.taxable),
                },
            }
        ]
    else:
        doc["TxnTaxDetail"] = {"TotalTax": 0}
    doc["TotalAmt"] = wire(sale.total)


def sale_party_fields(sale: Sale) -> Doc:
    customer = sale.customer
    fields: Doc = {"CustomerRef": customer.ref, "CustomerMemo": {"value": MEMO}}
    if customer.bill_addr:
        fields["BillAddr"] = customer.bill_addr
    if customer.ship_addr:
        fields["ShipAddr"] = customer.ship_addr
    return fields


def sale_tail(sale: Sale, doc: Doc) -> None:
    if sale.customer.email:
        doc["BillEmail"] = sale.customer.email
    if sale.class_ref:
        doc["ClassRef"] = sale.class_ref
    if sale.department_ref:
        doc["DepartmentRef"] = sale.department_ref


def sales_doc(ctx: Context, entity: str, sale: Sale, fast: bool, **extra: Any) -> Doc:
    """An Invoice / Estimate / SalesReceipt / CreditMemo / RefundReceipt with the sale's totals; SyncToken
    and MetaData are placeholders the caller settles once it knows the document's history."""
    clock = ctx.clock
    emailed = sale.customer.email is not None and sale.customer.doc["PreferredDeliveryMethod"] == "Email"
    doc: Doc = {}
    if entity == "Invoice":
        doc |= {
            "AllowIPNPayment": False,
            "AllowOnlinePayment": False,
            "AllowOnlineCreditCardPayment": False,
            "AllowOnlineACHPayment": False,
        }
    doc |= {
        **ctx.head(sale.id, sale.ct, sale.ct),
        "DocNumber": str(1000 + sale.id),
        "TxnDate": clock.iso(sale.day),
        "CurrencyRef": USD,
    }
    if entity == "Estimate":
        doc["TxnStatus"] = extra.pop("TxnStatus")
    if entity not in ("CreditMemo", "RefundReceipt"):
        doc["LinkedTxn"] = []
    doc |= {
        "Line": sale_lines(ctx, sale),
        "TxnTaxDetail": {"TxnTaxCodeRef": {"value": ctx.tax.code}} if sale.taxed else {},
        **sale_party_fields(sale),
    }
    if entity == "Invoice":
        doc |= {
            "SalesTermRef": sale.customer.term.ref,
            "DueDate": clock.iso(sale.day + sale.customer.term.days),
        }
    doc |= {
        "TotalAmt": 0,
        "ApplyTaxAfterDiscount": False,
        "PrintStatus": "NotSet" if emailed else "NeedToPrint",
    }
    if entity != "RefundReceipt":  # a refund is not e-mailed: QBO's RefundReceipt has no EmailStatus
        doc["EmailStatus"] = "EmailSent" if emailed else "NotSet"
    if entity in ("Invoice", "SalesReceipt", "CreditMemo", "RefundReceipt"):
        doc["Balance"] = 0
    doc |= extra
    sale_tail(sale, doc)
    apply_totals(ctx, entity, doc, sale, fast)
    if entity == "Invoice":
        doc["Balance"] = doc["TotalAmt"]
    elif entity == "CreditMemo":
        doc["Balance"] = doc["RemainingCredit"] = doc["TotalAmt"]
    return doc


def void_invoice(doc: Doc) -> None:
    """What QBO's void leaves (invoice_void_response.json): zero amounts, no links, "Voided".

    `void_amounts` zeroes the money; the real API also drops Qty/UnitPrice, which would no longer
    multiply to the zero Amount."""
    void_amounts(doc)
    doc["LinkedTxn"] = []
    for line in doc["Line"]:
        detail = line.get("SalesItemLineDetail")
        if detail is not None:
            detail.pop("Qty", None)
            detail.pop("UnitPrice", None)
