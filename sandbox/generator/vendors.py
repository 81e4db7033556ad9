"""Vendors: Intuit's sample company's own, then more like them; each bills mostly for one expense
account, or for items from stock."""

from __future__ import annotations

import random

from sandbox.generator.chart_of_accounts import EXPENSE_ACCOUNTS
from sandbox.generator.context import Context
from sandbox.generator.names_and_addresses import address, person_or_company, phone, slug
from sandbox.generator.records import Party
from sandbox.generator.setup_lists import VENDOR_TERM_WEIGHTS
from sandbox.generator.timeline import HOUR, creation_times, stamp
from sandbox.generator.values import Doc, ref_to
from sandbox.rules.client_input import USD
from sandbox.rules.names import DELETED_SUFFIX

# fmt: off
# Craig's Design and Landscaping's vendors, with what they mostly bill for (None: items from stock)
VENDORS = (
    ("Norton Lumber and Building Materials", None), ("Cal Telephone", "Utilities:Telephone"),
    ("PG&E", "Utilities:Gas and Electric"), ("Hicks Hardware", None), ("Books by Bessie", "Office Expenses"),
    ("Brosnahan Insurance Agency", "Insurance"), ("Chin's Gas and Oil", "Automobile"),
    ("Computers by Jenni", "Office Expenses"), ("Diego's Road Warrior Bodyshop", "Automobile"),
    ("Ellis Equipment Rental", "Repair & Maintenance"), ("Hall Properties", "Rent or Lease"),
    ("Lee Advertising", "Advertising"), ("Mahoney Mugs", "Supplies"),
    ("Robertson & Associates", "Legal & Professional Fees"), ("Squeaky Kleen Car Wash", "Automobile"),
    ("Sushi by Katsuyuki", "Meals and Entertainment"), ("Tania's Nursery", None),
    ("Tim Philip Masonry", None),
    ("Tony Rondonuwu", "Legal & Professional Fees"), ("United States Treasury", "Taxes & Licenses"),
    ("Met Life Dental", "Insurance"), ("National Eye Care", "Insurance"), ("Fidelity", "Bank Charges"),
    ("Pam Seitz", "Legal & Professional Fees"), ("EDD", "Taxes & Licenses"),
)
SUPPLY_TRADES = ("Supply", "Wholesale", "Materials", "Equipment Rental", "Services", "Hardware", "Nursery")
# fmt: on


def make_vendors(ctx: Context) -> None:
    p = ctx.profile
    if not p.vendors:
        return
    rng, clock = ctx.rng("vendors"), ctx.clock
    cts = creation_times(ctx.clock, rng, p.vendors, 0.5, clock.at(0, 10 * HOUR + 30 * 60))
    first = ctx.take_ids("Vendor", p.vendors)
    retired = (
        set(rng.sample(range(1, p.vendors), min(p.inactive_vendors, p.vendors - 1)))
        if p.vendors > 1
        else set()
    )
    for n, ct in enumerate(cts):
        if n < len(VENDORS) and ctx.claim("party", VENDORS[n][0]):
            display, account = VENDORS[n]
            name: tuple[str, ...] = (display, "", "", display)
        else:
            name = person_or_company(ctx, rng, SUPPLY_TRADES)
            account = None if rng.random() < 0.35 else rng.choice(EXPENSE_ACCOUNTS)
        off = None
        if n in retired and clock.day_of(ct) < clock.last - 45:
            off = rng.randint(clock.day_of(ct) + 30, clock.last - 3)
        ctx.vendors.append(make_vendor(ctx, rng, first + n, ct, off, name, account))


def make_vendor(
    ctx: Context,
    rng: random.Random,
    id_: int,
    ct: int,
    off: int | None,
    name: tuple[str, ...],
    account: str | None,
) -> Party:
    clock = ctx.clock
    display, given, family, company = name
    off_ts = clock.business(rng, off) if off is not None else None
    lut, sync = stamp(
        ct, [*clock.later(rng, ct, 0.2, 2, (off_ts or clock.end) - 60), *([off_ts] if off_ts else [])]
    )
    term = rng.choices(ctx.terms, VENDOR_TERM_WEIGHTS)[0]
    suffix = DELETED_SUFFIX if off is not None else ""
    addr = address(ctx, rng)
    doc: Doc = {
        "BillAddr": addr,
        "Balance": 0,
        "Vendor1099": account == "Legal & Professional Fees",
        "CurrencyRef": USD,
        "TermRef": term.ref,
        **ctx.head(id_, ct, lut, sync),
    }
    if company:
        doc["CompanyName"] = company
    else:
        doc |= {"GivenName": given, "FamilyName": family}
    doc |= {"DisplayName": display + suffix, "PrintOnCheckName": display, "Active": off is None}
    if rng.random() < 0.85:
        doc["PrimaryPhone"] = phone(rng)
    if rng.random() < 0.7:
        doc["PrimaryEmailAddr"] = {"Address": f"{slug(display) or 'vendor'}{id_}@example.com"}
    if rng.random() < 0.4:
        doc["AcctNum"] = str(rng.randint(10_000, 99_999))
    return Party(
        id=id_,
        ref=ref_to(id_, doc["DisplayName"]),
        doc=doc,
        ct=ct,
        lut=lut,
        since=clock.day_of(ct) + 1,
        until=off - 2 if off is not None else clock.last,
        term=term,
        bill_addr=addr,
        expense_account=account,
    )
