"""Products and services: services, inventory and non-inventory items with variants for bigger
catalogs, a category with sub-items, and an inactive one."""

from __future__ import annotations

import random

from sandbox.generator.context import Context
from sandbox.generator.profiles import Profile
from sandbox.generator.records import Item
from sandbox.generator.timeline import HOUR, creation_times, stamp
from sandbox.generator.values import Doc, ref_to, wire
from sandbox.rules.names import DELETED_SUFFIX

# fmt: off
# (Name, UnitPrice cents, PurchaseCost cents, Taxable, Description) per item type
SERVICES = (
    ("Design", 7500, 0, False, "Custom Design"),
    ("Installation", 5000, 0, False, "Installation of landscape design"),
    ("Gardening", 2500, 0, False, "Weekly Gardening Service"),
    ("Hours", 0, 0, False, ""),
    ("Pest Control", 3500, 0, False, "Pest Control Services"),
    ("Trimming", 3500, 0, False, "Tree and Shrub Trimming"),
    ("Maintenance & Repair", 0, 0, False, "Maintenance & Repair"),
    ("Consulting", 12000, 0, False, "Site consulting"),
    ("Lighting Installation", 6000, 0, False, "Garden lighting installation"),
    ("Irrigation Audit", 15000, 0, False, "Irrigation system audit"),
    ("Snow Removal", 8500, 0, False, ""),
    ("Tree Removal", 40000, 0, False, "Tree removal and haul-away"),
)
INVENTORY = (
    ("Pump", 1500, 1000, True, "Fountain Pump"),
    ("Rock Fountain", 27500, 12500, True, "Rock Fountain"),
    ("Sprinkler Heads", 200, 75, True, "Sprinkler Heads"),
    ("Sprinkler Pipes", 400, 250, True, "Sprinkler Pipes"),
    ("Garden Lights", 1275, 650, True, "Garden Lighting"),
    ("Birdbath", 8999, 4200, True, "Cast stone birdbath"),
    ("Solar Path Light", 2450, 1125, True, ""),
    ("Drip Line Kit", 3995, 1840, True, "Drip irrigation kit"),
    ("Hose Reel", 5900, 2700, True, ""),
    ("Planter Box", 12900, 6000, True, "Cedar planter box"),
)
NON_INVENTORY = (
    ("Sod", 1000, 0, True, "Square yard"),
    ("Soil", 1000, 0, True, "2 cubic ft. bag"),
    ("Rocks", 2250, 0, True, "Garden Rocks"),
    ("Concrete", 950, 0, True, "Concrete for fountain installation"),
    ("Mulch", 675, 0, True, ""),
    ("Gravel", 2800, 0, True, "Pea gravel, per yard"),
    ("Compost", 825, 0, True, ""),
    ("Fertilizer", 1999, 0, True, "Slow-release fertilizer"),
)
CATEGORY = ("Outdoor Furniture", (("Patio Chair", 14900, 7100), ("Patio Table", 39900, 18800)))
VARIANTS = ("Small", "Medium", "Large", "Premium", "Pro", "XL", "Deluxe", "Compact")
# fmt: on


def catalog_rows(p: Profile) -> list[tuple[str, str, int, int, bool, str]]:
    """(Name, Type, price, cost, taxable, description) for the profile's item counts, with variants."""
    rows: list[tuple[str, str, int, int, bool, str]] = []
    for kind, base, count in (
        ("Service", SERVICES, p.services),
        ("Inventory", INVENTORY, p.inventory),
        ("NonInventory", NON_INVENTORY, p.non_inventory),
    ):
        for n in range(count):
            name, price, cost, taxable, desc = base[n % len(base)]
            if n >= len(base):
                variant = VARIANTS[(n // len(base) - 1) % len(VARIANTS)]
                round_ = (n // len(base) - 1) // len(VARIANTS)
                name = f"{name} - {variant}" + (f" {round_ + 1}" if round_ else "")
                price, cost = (
                    price * (100 + 10 * (n // len(base))) // 100,
                    cost * (100 + 10 * (n // len(base))) // 100,
                )
            rows.append((name, kind, price, cost, taxable, desc))
    return rows


def make_items(ctx: Context) -> None:
    p = ctx.profile
    rows = catalog_rows(p)
    if not rows:
        return
    rng, clock = ctx.rng("items"), ctx.clock
    cts = creation_times(ctx.clock, rng, len(rows), 0.8, clock.at(0, 9 * HOUR + 40 * 60))
    batch = clock.at(clock.last - 100, 9 * HOUR)  # a price-list update: one second, half the items
    retired = len(rows) - 1 if p.edge_cases else -1
    docs = []
    first = ctx.take_ids("Item", len(rows))
    for n, (row, ct) in enumerate(zip(rows, cts, strict=True)):
        off = rng.randint(clock.day_of(ct) + 30, clock.last - 10) if n == retired else None
        doc, item = make_item(ctx, rng, first + n, ct, row, off, batch)
        docs.append(doc)
        ctx.items.append(item)
    if p.item_category:
        docs += make_category(ctx)
    ctx.write("Item", docs)


def item_doc(
    ctx: Context, id_: int, name: str, kind: str, price: int, cost: int, taxable: bool, desc: str, fqn: str
) -> Doc:
    doc: Doc = {"Name": name}
    if desc:
        doc["Description"] = desc
    doc |= {
        "Active": True,
        "FullyQualifiedName": fqn,
        "Taxable": taxable,
        "UnitPrice": wire(price),
        "Type": kind,
    }
    income = {
        "Service": "Services",
        "Inventory": "Sales of Product Income",
        "NonInventory": "Sales of Product Income",
    }
    if kind == "Service" and name in ("Design", "Consulting"):
        doc["IncomeAccountRef"] = ctx.account("Design income")
    elif kind == "Service" and id_ % 2:
        doc["IncomeAccountRef"] = ctx.account("Landscaping Services")
    else:
        doc["IncomeAccountRef"] = ctx.account(income[kind])
    if kind != "Service":
        doc["PurchaseDesc"] = desc or name
    doc["PurchaseCost"] = wire(cost)
    if kind == "Inventory":
        doc |= {
            "ExpenseAccountRef": ctx.account("Cost of Goods Sold"),
            "AssetAccountRef": ctx.account("Inventory Asset"),
        }
    elif kind == "NonInventory":
        doc["ExpenseAccountRef"] = ctx.account("Supplies")
    doc["TrackQtyOnHand"] = kind == "Inventory"
    return doc


def make_item(
    ctx: Context,
    rng: random.Random,
    id_: int,
    ct: int,
    row: tuple[str, str, int, int, bool, str],
    off: int | None,
    batch: int,
) -> tuple[tuple[Doc, int, int], Item]:
    clock = ctx.clock
    name, kind, price, cost, taxable, desc = row
    if not ctx.claim("Item", name):
        raise ValueError(f"duplicate item name {name!r}")
    off_ts = clock.business(rng, off) if off is not None else None
    events = clock.later(rng, ct, 0.15, 2, (off_ts or clock.end) - 60)
    events += [batch] if ct < batch < (off_ts or clock.end) and rng.random() < 0.5 else []
    lut, sync = stamp(ct, [*events, *([off_ts] if off_ts else [])])
    doc = item_doc(ctx, id_, name, kind, price, cost, taxable, desc, name)
    if kind == "Inventory":
        doc |= {
            "QtyOnHand": rng.randint(0, 250),
            "InvStartDate": clock.iso(clock.day_of(ct)),
            "Sku": f"SKU-{id_:05d}",
        }
    if off is not None:
        doc |= {"Name": name + DELETED_SUFFIX, "FullyQualifiedName": name + DELETED_SUFFIX, "Active": False}
        ctx.claim("Item", name + DELETED_SUFFIX)
    doc |= ctx.head(id_, ct, lut, sync)
    until = off - 2 if off is not None else clock.last
    item = Item(
        id_,
        ref_to(id_, doc["FullyQualifiedName"]),
        kind,
        price,
        cost,
        taxable,
        desc,
        clock.day_of(ct) + 1,
        until,
        doc.get("QtyOnHand", 0),
    )
    return (doc, ct, lut), item


def make_category(ctx: Context) -> list[tuple[Doc, int, int]]:
    """A Category item and its sub-items: FullyQualifiedName "Parent:Child", Level 1, ParentRef."""
    clock = ctx.clock
    ct = clock.at(1, 11 * HOUR)
    name, children = CATEGORY
    cat_id = ctx.take_ids("Item", 1 + len(children))
    ctx.claim("Item", name)
    category: Doc = {
        "Name": name,
        "Active": True,
        "FullyQualifiedName": name,
        "Taxable": False,
        "UnitPrice": 0,
        "Type": "Category",
        "PurchaseCost": 0,
        "TrackQtyOnHand": False,
        **ctx.head(cat_id, ct, ct),
    }
    docs = [(category, ct, ct)]
    for n, (child, price, cost) in enumerate(children, start=1):
        fqn = f"{name}:{child}"
        ctx.claim("Item", fqn)
        doc = item_doc(ctx, cat_id + n, child, "NonInventory", price, cost, True, "", fqn)
        doc = {
            **doc,
            "SubItem": True,
            "ParentRef": ref_to(cat_id, name),
            "Level": 1,
            **ctx.head(cat_id + n, ct, ct),
        }
        docs.append((doc, ct, ct))
        ctx.items.append(
            Item(
                cat_id + n,
                ref_to(cat_id + n, fqn),
                "NonInventory",
                price,
                cost,
                True,
                "",
                clock.day_of(ct) + 1,
                clock.last,
            )
        )
    return docs
