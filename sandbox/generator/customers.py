"""Customers and their jobs (sub-customers): imported at setup or joining over the years, some
tax-exempt, some made inactive, some with the names finance users trip on."""

from __future__ import annotations

import random
from dataclasses import dataclass

from sandbox.generator.context import Context
from sandbox.generator.names_and_addresses import STREETS, address, person_or_company, phone, slug
from sandbox.generator.records import Party
from sandbox.generator.sales_tax import SALES_TAX_CODE
from sandbox.generator.setup_lists import TERM_WEIGHTS
from sandbox.generator.timeline import HOUR, creation_times, stamp
from sandbox.generator.values import Doc, ref_to
from sandbox.rules.client_input import USD
from sandbox.rules.names import DELETED_SUFFIX

# fmt: off
# (DisplayName, GivenName, FamilyName, CompanyName, tax-exempt, has e-mail): the names finance users trip on
LONG_NAME = "Greater Bay Area Residential & Commercial Landscape Architecture, Irrigation & Hardscaping Co."
SPECIAL_CUSTOMERS: tuple[tuple[str, str | None, str | None, str | None, bool, bool], ...] = (
    ("Café Zürich GmbH", None, None, "Café Zürich GmbH", True, True),
    ("Søren Ærø", "Søren", "Ærø", None, False, False),
    ("Amy's Bird Sanctuary", "Amy", "Lauterbach", "Amy's Bird Sanctuary", False, True),
    ("Müller & Söhne KG", None, None, "Müller & Söhne KG", False, True),
    ("北京园林设计有限公司", None, None, "北京园林设计有限公司", False, False),
    (LONG_NAME, None, None, LONG_NAME, False, True),
    ("County of Santa Clara", None, None, "County of Santa Clara", True, True),
)
NOTES = ("Customer asked for itemized copy", "Updated per phone call", "Corrected quantity", "PO on file")
# fmt: on


@dataclass(slots=True)
class Draft:
    """A customer before ids are handed out in creation order."""

    name: tuple[str, ...]  # DisplayName, GivenName, FamilyName, CompanyName
    exempt: bool
    has_email: bool
    ct: int
    parent: Draft | None = None
    id: int = 0
    off: int | None = None  # the day it is made inactive


def make_customers(ctx: Context) -> None:
    p = ctx.profile
    if not p.customers:
        return
    rng, clock = ctx.rng("customers"), ctx.clock
    people: list[tuple[tuple[str, ...], bool, bool]] = []  # (name, tax-exempt, has e-mail)
    specials = SPECIAL_CUSTOMERS[: p.customers] if p.edge_cases else ()
    for display, given, family, company, exempt, has_email in specials:
        ctx.claim("party", display)
        people.append(((display, given or "", family or "", company or ""), exempt, has_email))
    while len(people) < p.customers:
        people.append((person_or_company(ctx, rng), rng.random() < 0.12, rng.random() < 0.8))
    rng.shuffle(people)  # the special names land anywhere in the list, not just first
    cts = creation_times(ctx.clock, rng, p.customers, 0.4, clock.at(0, 10 * HOUR + 15 * 60))
    drafts = [Draft(name, exempt, mail, ct) for (name, exempt, mail), ct in zip(people, cts, strict=True)]
    drafts += [make_job(ctx, rng, drafts[int(p.customers * rng.random() ** 1.5)]) for _ in range(p.jobs)]
    drafts.sort(key=lambda d: d.ct)
    for id_, draft in enumerate(drafts, start=ctx.take_ids("Customer", len(drafts))):
        draft.id = id_
    parents = {id(d.parent) for d in drafts if d.parent is not None}
    eligible = [d for d in drafts[1:] if id(d) not in parents and clock.day_of(d.ct) < clock.last - 45]
    for draft in rng.sample(eligible, min(p.inactive_customers, len(eligible))):
        draft.off = rng.randint(clock.day_of(draft.ct) + 30, clock.last - 3)
    parties: dict[int, Party] = {}
    for draft in drafts:
        parties[draft.id] = make_customer(ctx, rng, draft, parties[draft.parent.id] if draft.parent else None)
        ctx.customers.append(parties[draft.id])


def make_job(ctx: Context, rng: random.Random, parent: Draft) -> Draft:
    """A sub-customer: a project at an address, started a while after its customer."""
    clock = ctx.clock
    day = min(clock.last - 20, clock.day_of(parent.ct) + rng.randint(1, 400))
    street = f"{rng.randint(100, 9999):04d} {rng.choice(STREETS)}"
    while not ctx.claim("party", street):
        street = f"{rng.randint(100, 9999):04d} {rng.choice(STREETS)}"
    ct = max(clock.business(rng, day), parent.ct + 60)
    return Draft((street, "", "", ""), parent.exempt, parent.has_email, ct, parent)


def make_customer(ctx: Context, rng: random.Random, draft: Draft, parent: Party | None) -> Party:
    clock = ctx.clock
    display, given, family, company = draft.name
    exempt, has_email, ct, off = draft.exempt, draft.has_email, draft.ct, draft.off
    off_ts = clock.business(rng, off) if off is not None else None
    stop = off_ts - 60 if off_ts else clock.end
    batch = clock.at(clock.last - 200, 14 * HOUR)  # "update terms" batch edit: one second, many customers
    events = clock.later(rng, ct, 0.2, 2, stop) + (
        [batch] if ct < batch < stop and rng.random() < 0.3 else []
    )
    lut, sync = stamp(ct, [*events, *([off_ts] if off_ts else [])])
    term = parent.term if parent else rng.choices(ctx.terms, TERM_WEIGHTS)[0]
    bill = parent.bill_addr if parent else address(ctx, rng)
    ship = bill if parent or rng.random() < 0.7 else address(ctx, rng)
    email = {"Address": f"{slug(display) or 'customer'}{draft.id}@example.com"} if has_email else None
    suffix = DELETED_SUFFIX if off is not None else ""
    fqn = f"{parent.doc['FullyQualifiedName']}:{display}" if parent else display
    delivery = "Email" if email and rng.random() < 0.6 else "Print"
    doc: Doc = {"Taxable": not exempt, "BillAddr": bill, "ShipAddr": ship}
    if rng.random() < 0.1:
        doc["Notes"] = rng.choice(NOTES)
    doc |= {"Job": parent is not None, "BillWithParent": bool(parent) and rng.random() < 0.5}
    if parent:
        doc |= {"ParentRef": ref_to(parent.id), "Level": 1}
    doc |= {
        "Balance": 0,
        "BalanceWithJobs": 0,
        "CurrencyRef": USD,
        "PreferredDeliveryMethod": delivery,
        "SalesTermRef": term.ref,
    }
    if ctx.customer_types and rng.random() < 0.7:
        doc["CustomerTypeRef"] = rng.choice(ctx.customer_types)
    doc |= ctx.head(draft.id, ct, lut, sync)
    if given and (not company or rng.random() < 0.6):
        doc |= {"GivenName": given, "FamilyName": family}
    doc["FullyQualifiedName"] = fqn + suffix
    if company:
        doc["CompanyName"] = company
    doc |= {"DisplayName": display + suffix, "PrintOnCheckName": display, "Active": off is None}
    if rng.random() < 0.9:
        doc["PrimaryPhone"] = phone(rng)
    if email:
        doc["PrimaryEmailAddr"] = email
    if exempt:
        doc["TaxExemptionReasonId"] = rng.choice(("1", "2", "4", "5"))
    else:
        doc["DefaultTaxCodeRef"] = ref_to(SALES_TAX_CODE)
    return Party(
        id=draft.id,
        ref=ref_to(draft.id, doc["DisplayName"]),
        doc=doc,
        ct=ct,
        lut=lut,
        since=clock.day_of(ct) + 1,
        until=off - 2 if off is not None else clock.last,
        term=term,
        taxable=not exempt,
        bill_addr=bill,
        ship_addr=ship,
        email=email,
        parent=parent,
    )
