"""The company's one sales tax: California's rate on TaxCode 2, as in Intuit's sample companies."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sandbox.transactions import money

TAX_AGENCY = "California Department of Tax and Fee Administration"
TAX_RATES = (("Out of state", Decimal(0)), ("California", Decimal("8.25")))  # TaxCode n -> TaxRate n
SALES_TAX_CODE = "2"


@dataclass(slots=True)
class Tax:
    code: str
    rate_id: str
    percent: Decimal
    basis_points: int
    wire_percent: int | float


def california_tax() -> Tax:
    """The taxable rate sales forms apply: TaxCode 2 on TaxRate 2."""
    percent = TAX_RATES[1][1]
    return Tax(SALES_TAX_CODE, "2", percent, int(percent * 100), money(percent))
