"""Money moved between accounts with no customer or vendor: journal entries, deposits, transfers."""

from __future__ import annotations

import random

from sandbox.generator.context import Context
from sandbox.generator.streaming import Builder
from sandbox.generator.timeline import edited
from sandbox.generator.values import Doc, draw, wire
from sandbox.rules.client_input import USD
from sandbox.transactions import journal_balanced, line_total, money, normalise_lines

# fmt: off
JOURNALS = (  # (memo, debit accounts, credit account)
    ("Monthly depreciation", ("Depreciation",), ("Accumulated Depreciation",)),
    ("Payroll accrual", ("Payroll Expenses",), ("Payroll Liabilities",)),
    ("Prepaid insurance amortization", ("Insurance",), ("Prepaid Expenses",)),
    ("Owner contribution", ("Checking",), ("Owner's Investment",)),
    ("Owner draw", ("Owner's Draw",), ("Checking",)),
    ("Loan repayment", ("Loan Payable", "Bank Charges"), ("Checking",)),
)
# fmt: on


def journal_entry_builder(ctx: Context) -> Builder:
    def build(rng: random.Random, id_: int, day: int, ct: int) -> tuple[Doc, int]:
        memo, debits, credits = rng.choice(JOURNALS)
        amounts = [rng.randint(50, 5000) * 100 + rng.randint(0, 99) for _ in debits]
        lines: list[Doc] = []
        for account, amount in zip(debits, amounts, strict=True):
            lines.append(journal_line(ctx, len(lines) + 1, memo, amount, "Debit", account))
        lines.append(journal_line(ctx, len(lines) + 1, memo, sum(amounts), "Credit", credits[0]))
        lut, sync = edited(ctx.clock, rng, ct)
        doc: Doc = {
            "Adjustment": False,
            **ctx.head(id_, ct, lut, sync),
            "DocNumber": f"JE{id_:04d}",
            "TxnDate": ctx.clock.iso(day),
            "CurrencyRef": USD,
            "PrivateNote": memo,
            "Line": normalise_lines("JournalEntry", lines),
        }
        journal_balanced(doc)
        return doc, lut

    return build


def journal_line(ctx: Context, num: int, memo: str, cents: int, posting: str, account: str) -> Doc:
    return {
        "Id": str(num),
        "Description": memo,
        "Amount": wire(cents),
        "DetailType": "JournalEntryLineDetail",
        "JournalEntryLineDetail": {"PostingType": posting, "AccountRef": ctx.account(account)},
    }


def deposit_builder(ctx: Context) -> Builder:
    def build(rng: random.Random, id_: int, day: int, ct: int) -> tuple[Doc, int]:
        lines = []
        for num in range(1, rng.randint(1, 3) + 1):
            account = rng.choice(
                ("Interest Earned", "Other Income", "Owner's Investment", "Sales of Product Income")
            )
            detail: Doc = {"AccountRef": ctx.account(account)}
            if rng.random() < 0.5:
                detail["PaymentMethodRef"] = draw(rng, ctx.method_table)
            lines.append(
                {
                    "Id": str(num),
                    "LineNum": num,
                    "Amount": wire(rng.randint(10, 3000) * 100),
                    "DetailType": "DepositLineDetail",
                    "DepositLineDetail": detail,
                }
            )
        lut, sync = edited(ctx.clock, rng, ct)
        doc: Doc = {
            "DepositToAccountRef": ctx.account("Checking"),
            **ctx.head(id_, ct, lut, sync),
            "TxnDate": ctx.clock.iso(day),
            "CurrencyRef": USD,
            "Line": normalise_lines("Deposit", lines),
        }
        doc["TotalAmt"] = money(line_total(doc))
        return doc, lut

    return build


def transfer_builder(ctx: Context) -> Builder:
    def build(rng: random.Random, id_: int, day: int, ct: int) -> tuple[Doc, int]:
        source, target = ("Checking", "Savings") if rng.random() < 0.7 else ("Savings", "Checking")
        lut, sync = edited(ctx.clock, rng, ct)
        doc: Doc = {
            "FromAccountRef": ctx.account(source),
            "ToAccountRef": ctx.account(target),
            "Amount": wire(rng.randint(5, 200) * 10_000),
            **ctx.head(id_, ct, lut, sync),
            "TxnDate": ctx.clock.iso(day),
            "PrivateNote": f"Move funds to {target.lower()}",
        }
        return doc, lut

    return build
