"""Sales receipts, credit memos and refund receipts: sales forms paid, credited or refunded on the spot."""

from __future__ import annotations

import random

from sandbox.generator.context import Context
from sandbox.generator.sales_forms import plan_sale, sales_doc
from sandbox.generator.streaming import Builder
from sandbox.generator.timeline import edited
from sandbox.generator.values import Doc, draw

REFUND_NOTES = ("Returned merchandise", "Refund for cancelled service", "Damaged on delivery", "Overcharged")


def sales_receipt_builder(ctx: Context) -> Builder:
    def build(rng: random.Random, id_: int, day: int, ct: int) -> tuple[Doc, int]:
        sale = plan_sale(ctx, rng, ctx.customer_pool.pick(rng, day), day, ct)
        sale.id = id_
        method = draw(rng, ctx.method_table)
        doc = sales_doc(
            ctx,
            "SalesReceipt",
            sale,
            ctx.profile.fast_sales,
            PaymentMethodRef=method,
            DepositToAccountRef=ctx.account("Undeposited Funds"),
        )
        ctx.undeposited += sale.total
        lut, sync = edited(ctx.clock, rng, ct)
        doc |= {"SyncToken": str(sync), "MetaData": ctx.clock.meta(ct, lut)}
        return doc, lut

    return build


def credit_memo_builder(ctx: Context) -> Builder:
    def build(rng: random.Random, id_: int, day: int, ct: int) -> tuple[Doc, int]:
        sale = plan_sale(ctx, rng, ctx.customer_pool.pick(rng, day), day, ct)
        sale.id = id_
        doc = sales_doc(
            ctx, "CreditMemo", sale, ctx.profile.fast_sales, PrivateNote="Returned goods / service credit"
        )
        lut, sync = edited(ctx.clock, rng, ct)
        doc |= {"SyncToken": str(sync), "MetaData": ctx.clock.meta(ct, lut)}
        return doc, lut

    return build


def refund_receipt_builder(ctx: Context) -> Builder:
    """Money paid back over the counter: a sales form whose total leaves the bank account."""

    def build(rng: random.Random, id_: int, day: int, ct: int) -> tuple[Doc, int]:
        sale = plan_sale(ctx, rng, ctx.customer_pool.pick(rng, day), day, ct)
        sale.id = id_
        method = draw(rng, ctx.method_table)
        extra: Doc = {"PaymentMethodRef": method, "DepositToAccountRef": ctx.account("Checking")}
        if method["name"] == "Check":
            extra["PaymentRefNum"] = "To Print"
        extra["PrivateNote"] = rng.choice(REFUND_NOTES)
        doc = sales_doc(ctx, "RefundReceipt", sale, ctx.profile.fast_sales, **extra)
        lut, sync = edited(ctx.clock, rng, ct)
        doc |= {"SyncToken": str(sync), "MetaData": ctx.clock.meta(ct, lut)}
        return doc, lut

    return build
