"""Transaction arithmetic as QBO does it: line amounts, subtotal, discount, tax, totals, balances.

Kept apart from the write rules so the company generator produces documents through the very same
arithmetic as the API: a generated invoice and a created one cannot disagree about what adds up.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox import faults

SALES_LINE_TYPES = {
    "SalesItemLineDetail",
    "GroupLineDetail",
    "DescriptionOnly",
    "DiscountLineDetail",
    "SubTotalLineDetail",
}
EXPENSE_LINE_TYPES = {"ItemBasedExpenseLineDetail", "AccountBasedExpenseLineDetail"}
LINE_TYPES: dict[str, set[str]] = {
    "Invoice": SALES_LINE_TYPES,
    "SalesReceipt": SALES_LINE_TYPES,
    "Estimate": SALES_LINE_TYPES,
    "CreditMemo": SALES_LINE_TYPES,
    "RefundReceipt": SALES_LINE_TYPES,
    "Bill": EXPENSE_LINE_TYPES,
    "VendorCredit": EXPENSE_LINE_TYPES,
    "PurchaseOrder": EXPENSE_LINE_TYPES,
    "Purchase": EXPENSE_LINE_TYPES,
    "JournalEntry": {"JournalEntryLineDetail", "DescriptionOnly"},
    "Deposit": {"DepositLineDetail"},
}
CENT = Decimal("0.01")


def money(value: Any) -> int | float:
    """A wire amount: rounded half-up to the cent, integral values without a fraction (`75`, `337.5`)."""
    amount = to_decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def to_decimal(value: Any, element: str = "Amount") -> Decimal:
    if isinstance(value, bool):
        raise faults.invalid_number(element, value)
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal(0)
    except ArithmeticError:
        raise faults.invalid_number(element, value) from None


def number(value: Any, element: str) -> Decimal | None:
    return None if value in (None, "") else to_decimal(value, element)


def normalise_lines(entity: str, lines: Any) -> list[dict[str, Any]]:
    """Validate DetailType, drop the server's own SubTotal line, compute item line amounts, number lines."""
    if not isinstance(lines, list) or not lines:
        raise faults.required_param("Line")
    allowed = LINE_TYPES.get(entity)
    kept: list[dict[str, Any]] = []
    used_ids = {str(line.get("Id")) for line in lines if isinstance(line, dict) and line.get("Id")}
    next_id = 1
    for index, line in enumerate(lines):
        if not isinstance(line, dict):
            raise faults.request_error(f"Line[{index}] must be an object")
        detail_type = line.get("DetailType")
        if not detail_type:
            raise faults.required_param("Line.DetailType")
        if allowed is not None and detail_type not in allowed:
            raise faults.invalid_enum("Line.DetailType", detail_type)
        if detail_type == "SubTotalLineDetail":
            continue  # recomputed below, as QBO does
        line = {k: v for k, v in line.items() if v not in (None, "")}  # noqa: PLW2901 - a cleaned copy
        if detail_type != "DiscountLineDetail" and not line.get("Id"):
            while str(next_id) in used_ids:
                next_id += 1
            line["Id"] = str(next_id)
            used_ids.add(str(next_id))
        detail = line.get(detail_type) or {}
        if detail_type in ("SalesItemLineDetail", "ItemBasedExpenseLineDetail"):
            _item_line_amount(line, detail, f"Line[{index}]")
        elif detail_type != "DiscountLineDetail":
            if "Amount" not in line and detail_type != "DescriptionOnly":
                raise faults.required_param("Line.Amount")
            line["Amount"] = money(line.get("Amount", 0))
        kept.append(line)
    item_lines = [line for line in kept if line["DetailType"] != "DiscountLineDetail"]
    discount_lines = [line for line in kept if line["DetailType"] == "DiscountLineDetail"]
    for num, line in enumerate(item_lines, start=1):
        line["LineNum"] = num
    return item_lines + discount_lines


def _item_line_amount(line: dict[str, Any], detail: dict[str, Any], where: str) -> None:
    qty = number(detail.get("Qty"), f"{where}.Qty")
    price = number(detail.get("UnitPrice"), f"{where}.UnitPrice")
    if "Amount" in line:
        amount = to_decimal(line["Amount"], f"{where}.Amount")
        if qty is not None and price is not None and abs(qty * price - amount) > Decimal("0.005"):
            raise faults.business_validation(
                f"Amount is not equal to UnitPrice * Qty. Supplied value:{money(amount)}", "Line.Amount"
            )
    elif qty is not None and price is not None:
        amount = qty * price
    else:
        raise faults.required_param("Line.Amount")
    line["Amount"] = money(amount)


def sales_totals(doc: dict[str, Any], tax_percent: Decimal | None, tax_rate_id: str | None) -> None:
    """Subtotal line, discount, tax and TotalAmt for a sales form (invoice, receipt, estimate...)."""
    lines = doc["Line"]
    items = [line for line in lines if line["DetailType"] in ("SalesItemLineDetail", "GroupLineDetail")]
    subtotal = sum((to_decimal(line["Amount"]) for line in items), Decimal(0))
    taxable = sum(
        (
            to_decimal(line["Amount"])
            for line in items
            if (line.get("SalesItemLineDetail") or {}).get("TaxCodeRef", {}).get("value") == "TAX"
        ),
        Decimal(0),
    )
    discount = Decimal(0)
    rebuilt = [line for line in lines if line["DetailType"] != "DiscountLineDetail"]
    rebuilt.append({"Amount": money(subtotal), "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}})
    for line in lines:
        if line["DetailType"] != "DiscountLineDetail":
            continue
        detail = line.setdefault("DiscountLineDetail", {})
        if detail.get("PercentBased"):
            percent = to_decimal(detail.get("DiscountPercent"), "DiscountLineDetail.DiscountPercent")
            amount = (subtotal * percent / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        else:
            amount = to_decimal(line.get("Amount"), "Line.Amount")
        discount += amount
        line["Amount"] = money(amount)
        rebuilt.append(line)
    doc["Line"] = rebuilt

    if doc.get("ApplyTaxAfterDiscount") and subtotal:
        taxable = taxable * (subtotal - discount) / subtotal
    tax_detail = doc.get("TxnTaxDetail") or {}
    if tax_percent is not None and tax_rate_id is not None:
        tax = (taxable * tax_percent / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        tax_detail["TotalTax"] = money(tax)
        tax_detail["TaxLine"] = [
            {
                "Amount": money(tax),
                "DetailType": "TaxLineDetail",
                "TaxLineDetail": {
                    "TaxRateRef": {"value": tax_rate_id},
                    "PercentBased": True,
                    "TaxPercent": money(tax_percent),
                    "NetAmountTaxable": money(taxable),
                },
            }
        ]
    else:
        tax = to_decimal(tax_detail.get("TotalTax", 0), "TxnTaxDetail.TotalTax")
        tax_detail["TotalTax"] = money(tax)
    doc["TxnTaxDetail"] = tax_detail
    doc["TotalAmt"] = money(subtotal - discount + tax)


def line_total(doc: dict[str, Any]) -> Decimal:
    return sum((to_decimal(line.get("Amount", 0)) for line in doc.get("Line", [])), Decimal(0))


def journal_balanced(doc: dict[str, Any]) -> None:
    debit = credit = Decimal(0)
    for line in doc["Line"]:
        detail = line.get("JournalEntryLineDetail")
        if detail is None:
            continue
        posting = detail.get("PostingType")
        if posting not in ("Debit", "Credit"):
            raise faults.invalid_enum("Line.JournalEntryLineDetail.PostingType", posting)
        if not (detail.get("AccountRef") or {}).get("value"):
            raise faults.required_param("Line.JournalEntryLineDetail.AccountRef")
        if posting == "Debit":
            debit += to_decimal(line["Amount"])
        else:
            credit += to_decimal(line["Amount"])
    if debit != credit:
        raise faults.business_validation(
            f"Transaction is not balanced: debits {money(debit)} and credits {money(credit)} must be equal"
        )
    doc["TotalAmt"] = money(debit)


def applied_amounts(doc: dict[str, Any], txn_type: str) -> dict[int, Decimal]:
    """What a payment (or bill payment) applies, per linked transaction id of `txn_type`."""
    applied: dict[int, Decimal] = {}
    for line in doc.get("Line", []):
        for link in line.get("LinkedTxn", []) or []:
            if link.get("TxnType") == txn_type and str(link.get("TxnId", "")).isdigit():
                key = int(link["TxnId"])
                applied[key] = applied.get(key, Decimal(0)) + to_decimal(line.get("Amount", 0))
    return applied


def void_amounts(doc: dict[str, Any]) -> None:
    """What a void leaves: every amount zero (quantities and prices dropped), the note QBO writes."""
    for line in doc.get("Line", []):
        if "Amount" in line:
            line["Amount"] = 0
        for detail_type in ("SalesItemLineDetail", "ItemBasedExpenseLineDetail"):
            detail = line.get(detail_type)
            if isinstance(detail, dict):
                detail.pop("Qty", None)
                detail.pop("UnitPrice", None)
    for key in ("TotalAmt", "Balance", "UnappliedAmt", "HomeTotalAmt", "HomeBalance", "RemainingCredit"):
        if key in doc:
            doc[key] = 0
    if isinstance(doc.get("TxnTaxDetail"), dict):
        doc["TxnTaxDetail"] = {"TotalTax": 0}
    doc["PrivateNote"] = "Voided"
