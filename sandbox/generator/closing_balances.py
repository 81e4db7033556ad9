"""Balances are known only once every transaction is made: customers, vendors and accounts go last."""

from __future__ import annotations

from sandbox.generator.chart_of_accounts import CHART
from sandbox.generator.context import Context
from sandbox.generator.timeline import stamp
from sandbox.generator.values import Doc, ref_to, wire
from sandbox.rules.client_input import USD
from sandbox.rules.name_list_fields import CLASSIFICATION


def write_parties(ctx: Context) -> None:
    """Customers and vendors go last: their Balance is the sum of what the transactions left open."""
    with_jobs = {c.id: c.balance for c in ctx.customers}
    for customer in ctx.customers:
        if customer.parent is not None:
            with_jobs[customer.parent.id] += customer.balance
    for customer in ctx.customers:
        customer.doc |= {"Balance": wire(customer.balance), "BalanceWithJobs": wire(with_jobs[customer.id])}
    for vendor in ctx.vendors:
        vendor.doc["Balance"] = wire(vendor.balance)
    for entity, parties in (("Customer", ctx.customers), ("Vendor", ctx.vendors)):
        for start in range(0, len(parties), ctx.profile.chunk):
            ctx.write(entity, [(p.doc, p.ct, p.lut) for p in parties[start : start + ctx.profile.chunk]])


def write_accounts(ctx: Context) -> None:
    rng, clock = ctx.rng("accounts"), ctx.clock
    busy = ctx.profile.invoices > 0
    exact = {
        "Accounts Receivable (A/R)": sum(c.balance for c in ctx.customers),
        "Accounts Payable (A/P)": sum(v.balance for v in ctx.vendors),
        "Undeposited Funds": ctx.undeposited,
        "Inventory Asset": sum(i.cost * i.qty for i in ctx.items),
    }
    balances: dict[str, int] = {}
    for name, account_type, _sub, parent, _active in CHART:
        fqn = f"{parent}:{name}" if parent else name
        if fqn in exact:
            balances[fqn] = exact[fqn]
        elif CLASSIFICATION[account_type] in ("Revenue", "Expense") or not busy:
            balances[fqn] = 0  # QBO reports no running balance on P&L accounts
        else:
            balances[fqn] = rng.randint(1_000, 90_000) * 100
    docs = []
    for name, account_type, sub_type, parent, active in CHART:
        fqn = f"{parent}:{name}" if parent else name
        id_ = ctx.accounts[fqn][0]
        with_subs = balances[fqn] + sum(v for k, v in balances.items() if k.startswith(f"{fqn}:"))
        events = [] if active else [clock.business(rng, rng.randint(30, clock.last // 2))]
        lut, sync = stamp(ctx.setup_ts, events)
        doc: Doc = {"Name": name, "SubAccount": parent is not None}
        if parent:
            doc["ParentRef"] = ref_to(ctx.accounts[parent][0])
        doc |= {
            "FullyQualifiedName": fqn,
            "Active": active,
            "Classification": CLASSIFICATION[account_type],
            "AccountType": account_type,
            "AccountSubType": sub_type,
            "CurrentBalance": wire(balances[fqn]),
            "CurrentBalanceWithSubAccounts": wire(with_subs),
            "CurrencyRef": USD,
            **ctx.head(id_, ctx.setup_ts, lut, sync),
        }
        docs.append((doc, ctx.setup_ts, lut))
    ctx.write("Account", docs)
