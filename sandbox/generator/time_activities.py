"""Time employees spend for customers, billable or not."""

from __future__ import annotations

import random

from sandbox.generator.context import Context
from sandbox.generator.streaming import Builder
from sandbox.generator.timeline import edited
from sandbox.generator.values import Doc, wire


def time_activity_builder(ctx: Context) -> Builder:
    def build(rng: random.Random, id_: int, day: int, ct: int) -> tuple[Doc, int]:
        worker = ctx.employee_pool.pick(rng, day)
        customer = ctx.customer_pool.pick(rng, day)
        item = ctx.service_pool.pick(rng, day) if ctx.service_pool else None
        billable = rng.random() < 0.7
        lut, sync = edited(ctx.clock, rng, ct)
        doc: Doc = {
            "TxnDate": ctx.clock.iso(day),
            "NameOf": "Employee",
            "EmployeeRef": worker.ref,
            "CustomerRef": customer.ref,
        }
        if item is not None:
            doc["ItemRef"] = item.ref
        doc |= {
            "BillableStatus": "Billable" if billable else "NotBillable",
            "Taxable": False,
            "HourlyRate": wire(worker.rate) if billable else 0,
            "Hours": rng.randint(0, 8),
            "Minutes": rng.choice((0, 15, 30, 45)),
            "Description": (item.description if item else "") or "Labor",
            **ctx.head(id_, ct, lut, sync),
        }
        return doc, lut

    return build
