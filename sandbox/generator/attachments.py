"""Notes and files attached to records that exist: receipts on bills and expenses, signed work orders
and site photos on invoices, W-9s on vendors. Made last, since they point at records of every kind."""

from __future__ import annotations

import json
import random

from sandbox.generator.context import Context
from sandbox.generator.names_and_addresses import slug
from sandbox.generator.timeline import HOUR, edited
from sandbox.generator.values import Doc, draw, weighted_table

JPEG, PNG, PDF, CSV = "image/jpeg", "image/png", "application/pdf", "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# content type -> (Category, smallest and largest Size in bytes)
FILE_KINDS = {
    JPEG: ("Image", 80_000, 4_500_000),
    PNG: ("Image", 40_000, 2_500_000),
    PDF: ("Document", 25_000, 1_200_000),
    XLSX: ("Document", 9_000, 250_000),
    CSV: ("Other", 400, 40_000),
}
ATTACHED_TO = weighted_table(
    ("Invoice", "Bill", "Purchase", "Customer", "Estimate", "PurchaseOrder", "Vendor", "SalesReceipt"),
    (30, 18, 14, 10, 6, 6, 6, 4),
)
# what gets attached to each: (FileName pattern, ContentType)
ATTACHED_FILES: dict[str, tuple[tuple[str, str], ...]] = {
    "Invoice": (("signed_work_order_{num}.pdf", PDF), ("site_photo_{n}.jpg", JPEG)),
    "Bill": (("{party}_invoice_{num}.pdf", PDF), ("receipt_{date}.jpg", JPEG)),
    "Purchase": (("receipt_{date}.jpg", JPEG), ("IMG_{n}.png", PNG)),
    "Customer": (("service_agreement_{party}.pdf", PDF), ("property_layout_{party}.png", PNG)),
    "Estimate": (("design_concept_{num}.pdf", PDF), ("plant_list_{num}.xlsx", XLSX)),
    "PurchaseOrder": (("spec_sheet_{num}.pdf", PDF), ("order_lines_{num}.csv", CSV)),
    "Vendor": (("W-9_{party}.pdf", PDF), ("price_list_{year}.xlsx", XLSX), ("delivery_log_{party}.csv", CSV)),
    "SalesReceipt": (("receipt_{num}.pdf", PDF),),
}
SALES_NOTES = (
    "Customer approved the plan on site",
    "Discussed the schedule by phone",
    "Gate code is in the customer notes",
    "Photos from the walkthrough to follow",
)
PURCHASE_NOTES = (
    "Checked against the packing slip",
    "Vendor confirmed the price by e-mail",
    "Receipt is in the office binder",
    "Disputed one line; credit promised",
)
ATTACHED_NOTES = {
    entity: SALES_NOTES if entity in ("Invoice", "Customer", "Estimate", "SalesReceipt") else PURCHASE_NOTES
    for entity in ATTACHED_FILES
}
ATTACH_DELAYS = weighted_table((0, 1, 2, 3, 7), (10, 4, 2, 1, 1))  # days between a record and its attachment


def make_attachables(ctx: Context) -> None:
    """Notes and files attached to records that exist (after they were made): receipts on bills and
    expenses, signed work orders and site photos on invoices, W-9s on vendors. Ids in creation order."""
    p, clock = ctx.profile, ctx.clock
    targets = [e for e in ATTACHED_TO if ctx.counts.get(e)]
    if not p.attachables or not targets:
        return
    rng = ctx.rng("attachables")
    table = tuple(targets)
    plans = []
    for _ in range(p.attachables):
        entity, id_, target_ct, target = attachment_target(ctx, rng, table)
        day = min(clock.last, clock.day_of(target_ct) + draw(rng, ATTACH_DELAYS))
        ct = clock.business(rng, day)  # uploaded in office hours, the same day or a few days later
        ct = ct if ct > target_ct else min(clock.end, target_ct + rng.randint(30, HOUR))
        plans.append((ct, entity, id_, target))
    plans.sort(key=lambda plan: plan[0])
    first = ctx.take_ids("Attachable", len(plans))
    docs = []
    for n, (ct, entity, target_id, target) in enumerate(plans):
        id_ = first + n
        doc: Doc = {
            "AttachableRef": [
                {"EntityRef": {"type": entity, "value": str(target_id)}, "IncludeOnSend": False}
            ]
        }
        if rng.random() < 0.7:
            pattern, content_type = rng.choice(ATTACHED_FILES[entity])
            category, smallest, largest = FILE_KINDS[content_type]
            ref = target.get("VendorRef") or target.get("EntityRef") or {}
            party = target.get("DisplayName") or ref.get("name", "")
            name = pattern.format(
                num=target.get("DocNumber") or target["Id"],
                n=rng.randint(1000, 9999),
                party=slug(party) or entity.lower(),
                date=target.get("TxnDate", clock.iso(clock.day_of(ct))).replace("-", ""),
                year=clock.date(clock.day_of(ct)).year,
            )
            doc |= {
                "FileName": name,
                "FileAccessUri": f"/v3/company/{ctx.realm.realm_id}/download/{id_}",
                "Size": rng.randint(smallest, largest),
                "ContentType": content_type,
                "Category": category,
            }
            if content_type == PDF and entity in ("Invoice", "Estimate", "PurchaseOrder"):
                doc["AttachableRef"][0]["IncludeOnSend"] = rng.random() < 0.4
            if rng.random() < 0.2:
                doc["Note"] = rng.choice(ATTACHED_NOTES[entity])
        else:
            doc["Note"] = rng.choice(ATTACHED_NOTES[entity])
        lut, sync = edited(ctx.clock, rng, ct)
        doc |= ctx.head(id_, ct, lut, sync)
        docs.append((doc, ct, lut))
    ctx.write("Attachable", docs)


def attachment_target(ctx: Context, rng: random.Random, table: tuple[str, ...]) -> tuple[str, int, int, Doc]:
    """A stored record to attach something to: (entity, Id, CreateTime, document); parties still active."""
    for _ in range(100):
        entity = draw(rng, table)
        id_ = rng.randint(1, ctx.counts[entity])
        ct, active, text = ctx.store.execute(
            "SELECT ct, active, doc FROM entities WHERE realm_id = ? AND entity = ? AND id = ?",
            (ctx.realm.realm_id, entity, id_),
        ).fetchone()
        if active != 0:
            return entity, id_, int(ct), json.loads(text)
    raise RuntimeError("no active record to attach a file to")
