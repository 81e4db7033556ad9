"""Monthly profit-and-loss budgets, one per recent fiscal year."""

from __future__ import annotations

from datetime import date

from sandbox.generator.context import Context
from sandbox.generator.timeline import edited
from sandbox.generator.values import Doc, wire


def make_budgets(ctx: Context) -> None:
    """Monthly P&L budgets for the last fiscal years, each made at the start of its year."""
    p, clock = ctx.profile, ctx.clock
    if not p.budgets:
        return
    rng = ctx.rng("budgets")
    anchor = clock.date(clock.last)
    accounts = (
        "Services",
        "Sales of Product Income",
        "Rent or Lease",
        "Advertising",
        "Payroll Expenses",
        "Supplies",
    )
    docs = []
    for n, year in enumerate(range(anchor.year - p.budgets + 1, anchor.year + 1), start=1):
        start_day = max(1, (date(year, 1, 1) - clock.first).days)
        ct = clock.business(rng, start_day)
        lut, sync = edited(ctx.clock, rng, ct, 0.5)
        details = [
            {
                "BudgetDate": date(year, month, 1).isoformat(),
                "Amount": wire(rng.randint(5, 400) * 10_000),
                "AccountRef": ctx.account(account),
            }
            for account in accounts
            for month in range(1, 13)
        ]
        doc: Doc = {
            "Name": f"Budget FY{year}",
            "StartDate": f"{year}-01-01",
            "EndDate": f"{year}-12-31",
            "BudgetType": "ProfitAndLoss",
            "BudgetEntryType": "Monthly",
            "Active": True,
            "BudgetDetail": details,
            **ctx.head(n, ct, lut, sync),
        }
        docs.append((doc, ct, lut))
    ctx.take_ids("Budget", len(docs))
    ctx.write("Budget", docs)
