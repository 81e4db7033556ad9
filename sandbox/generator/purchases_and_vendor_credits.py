"""Expenses paid on the spot (card, check, cash) and credits vendors owe back."""

from __future__ import annotations

import random

from sandbox.generator.context import Context
from sandbox.generator.expense_forms import expense_lines, expense_total
from sandbox.generator.streaming import Builder
from sandbox.generator.timeline import edited
from sandbox.generator.values import Doc, draw, weighted_table
from sandbox.rules.client_input import USD

PURCHASE_KINDS = weighted_table(("CreditCard", "Check", "Cash"), (6, 3, 1))
VENDOR_CREDIT_NOTES = ("Returned damaged stock", "Credit for overbilling", "Short shipment", "Rebate")


def purchase_builder(ctx: Context) -> Builder:
    def build(rng: random.Random, id_: int, day: int, ct: int) -> tuple[Doc, int]:
        vendor = ctx.vendor_pool.pick(rng, day)
        kind = draw(rng, PURCHASE_KINDS)
        lines, total = expense_lines(ctx, rng, vendor, day, items=False)
        lut, sync = edited(ctx.clock, rng, ct)
        doc: Doc = {
            "AccountRef": ctx.account("Mastercard" if kind == "CreditCard" else "Checking"),
            "PaymentType": kind,
        }
        if kind != "Check":
            doc["PaymentMethodRef"] = ctx.methods[3 if kind == "CreditCard" else 0]
        doc |= {
            "EntityRef": {**vendor.ref, "type": "Vendor"},
            "Credit": False,
            "TotalAmt": 0,
            **ctx.head(id_, ct, lut, sync),
        }
        if kind == "Check":
            doc["DocNumber"] = str(20_000 + id_)
        doc |= {"TxnDate": ctx.clock.iso(day), "CurrencyRef": USD, "PrintStatus": "NotSet", "Line": lines}
        expense_total("Purchase", doc, total, ctx.profile.fast_sales)
        return doc, lut

    return build


def vendor_credit_builder(ctx: Context) -> Builder:
    """Credit a vendor owes back (returned stock, an overcharge): expense lines, nothing applied yet."""

    def build(rng: random.Random, id_: int, day: int, ct: int) -> tuple[Doc, int]:
        vendor = ctx.vendor_pool.pick(rng, day)
        stock = vendor.expense_account is None and bool(ctx.stock_pool)
        lines, total = expense_lines(ctx, rng, vendor, day, stock and rng.random() < 0.8)
        lut, sync = edited(ctx.clock, rng, ct)
        doc: Doc = {"APAccountRef": ctx.account("Accounts Payable (A/P)"), **ctx.head(id_, ct, lut, sync)}
        if rng.random() < 0.6:
            doc["DocNumber"] = f"CM-{rng.randint(100, 9999)}"
        doc |= {
            "TxnDate": ctx.clock.iso(day),
            "CurrencyRef": USD,
            "PrivateNote": rng.choice(VENDOR_CREDIT_NOTES),
            "Line": lines,
            "VendorRef": vendor.ref,
            "TotalAmt": 0,
        }
        if ctx.departments and rng.random() < 0.3:
            doc["DepartmentRef"] = rng.choice(ctx.departments)
        expense_total("VendorCredit", doc, total, ctx.profile.fast_sales)
        doc["Balance"] = doc["TotalAmt"]
        return doc, lut

    return build
