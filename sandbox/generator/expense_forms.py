"""Expense forms' content (bills, purchase orders, expenses, vendor credits): item lines for stock
bought at cost, or account lines for what a vendor bills for."""

from __future__ import annotations

import random
from dataclasses import dataclass

from sandbox.generator.chart_of_accounts import EXPENSE_ACCOUNTS
from sandbox.generator.context import Context
from sandbox.generator.records import Party
from sandbox.generator.values import Doc, draw, weighted_table, wire
from sandbox.transactions import line_total, money, normalise_lines


@dataclass(slots=True)
class Purchase:
    """A bill's (or purchase order's) content: lines as a client sends them, their total in cents."""

    vendor: Party
    day: int
    ct: int
    lines: list[Doc]
    total: int
    id: int = 0


EXPENSE_LINE_COUNTS = weighted_table((1, 2, 3, 4), (45, 30, 15, 10))


def expense_lines(
    ctx: Context, rng: random.Random, vendor: Party, day: int, items: bool
) -> tuple[list[Doc], int]:
    """Item lines (stock bought at cost) or account lines (what the vendor bills for)."""
    lines: list[Doc] = []
    total = 0
    for num in range(1, draw(rng, EXPENSE_LINE_COUNTS) + 1):
        if items:
            item = ctx.stock_pool.pick(rng, day)
            qty, cost = rng.randint(1, 40), item.cost or rng.randint(5, 60) * 100
            amount = qty * cost
            lines.append(
                {
                    "Id": str(num),
                    "LineNum": num,
                    "Description": item.description or item.ref["name"],
                    "Amount": wire(amount),
                    "DetailType": "ItemBasedExpenseLineDetail",
                    "ItemBasedExpenseLineDetail": {
                        "BillableStatus": "NotBillable",
                        "ItemRef": item.ref,
                        "UnitPrice": wire(cost),
                        "Qty": qty,
                        "TaxCodeRef": {"value": "NON"},
                    },
                }
            )
        else:
            account = vendor.expense_account or rng.choice(EXPENSE_ACCOUNTS)
            amount = rng.randint(20, 2500) * 100 + rng.choice((0, 0, 50, rng.randint(1, 99)))
            detail: Doc = {}
            if ctx.customer_pool and rng.random() < 0.15:
                detail["CustomerRef"] = ctx.customer_pool.pick(rng, day).ref
                detail["BillableStatus"] = rng.choice(("Billable", "HasBeenBilled"))
            else:
                detail["BillableStatus"] = "NotBillable"
            detail |= {"AccountRef": ctx.account(account), "TaxCodeRef": {"value": "NON"}}
            lines.append(
                {
                    "Id": str(num),
                    "LineNum": num,
                    "Amount": wire(amount),
                    "DetailType": "AccountBasedExpenseLineDetail",
                    "AccountBasedExpenseLineDetail": detail,
                }
            )
        total += amount
    return lines, total


def expense_total(entity: str, doc: Doc, cents: int, fast: bool) -> None:
    """TotalAmt = sum of lines: through `normalise_lines`/`line_total` as the API does, or from cents."""
    if not fast:
        doc["Line"] = normalise_lines(entity, doc["Line"])
        doc["TotalAmt"] = money(line_total(doc))
        if doc["TotalAmt"] != wire(cents):
            raise AssertionError(f"{entity} arithmetic drifted: {doc['TotalAmt']} != {wire(cents)}")
    else:
        doc["TotalAmt"] = wire(cents)
