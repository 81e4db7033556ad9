"""Employees: the people time is billed for; the last one hired has left (released and inactive)."""

from __future__ import annotations

from datetime import date

from sandbox.generator.context import Context
from sandbox.generator.names_and_addresses import FIRST, LAST, address, phone, slug
from sandbox.generator.records import Worker
from sandbox.generator.timeline import HOUR, creation_times, stamp
from sandbox.generator.values import Doc, ref_to, wire
from sandbox.rules.names import DELETED_SUFFIX


def make_employees(ctx: Context) -> None:
    p = ctx.profile
    if not p.employees:
        return
    rng, clock = ctx.rng("employees"), ctx.clock
    cts = creation_times(ctx.clock, rng, p.employees, 0.5, clock.at(0, 11 * HOUR))
    first = ctx.take_ids("Employee", p.employees)
    docs = []
    for n, ct in enumerate(cts):
        id_ = first + n
        given, family = (
            ("Zoë", "Ångström") if n == 1 and p.edge_cases else (rng.choice(FIRST), rng.choice(LAST))
        )
        display = f"{given} {family}"
        while not ctx.claim("party", display):
            given, family = rng.choice(FIRST), rng.choice(LAST)
            display = f"{given} {family}"
        off = (
            rng.randint(clock.day_of(ct) + 60, clock.last - 5)
            if n == p.employees - 1 and p.employees > 2
            else None
        )
        off_ts = clock.business(rng, off) if off is not None else None
        lut, sync = stamp(
            ct, [*clock.later(rng, ct, 0.2, 1, (off_ts or clock.end) - 60), *([off_ts] if off_ts else [])]
        )
        rate = rng.choice((4500, 5000, 6000, 7500))
        doc: Doc = {
            "BillableTime": rng.random() < 0.7,
            "BillRate": wire(rate),
            "HiredDate": clock.iso(clock.day_of(ct)),
            "BirthDate": date(rng.randint(1960, 2000), rng.randint(1, 12), rng.randint(1, 28)).isoformat(),
        }
        if off is not None:
            doc["ReleasedDate"] = clock.iso(off)
        doc |= {
            **ctx.head(id_, ct, lut, sync),
            "GivenName": given,
            "FamilyName": family,
            "DisplayName": display + (DELETED_SUFFIX if off is not None else ""),
            "PrintOnCheckName": display,
            "Active": off is None,
            "PrimaryPhone": phone(rng),
            "PrimaryEmailAddr": {"Address": f"{slug(given)}.{slug(family) or 'staff'}{id_}@example.com"},
            "PrimaryAddr": address(ctx, rng),
            "EmployeeNumber": f"E{id_:03d}",
        }
        docs.append((doc, ct, lut))
        ctx.employees.append(
            Worker(
                id_,
                ref_to(id_, doc["DisplayName"]),
                rate,
                clock.day_of(ct) + 1,
                off - 2 if off is not None else clock.last,
            )
        )
    ctx.write("Employee", docs)
