"""The numbers QBO and the warehouse can both hold, apart from the DTOs: the store checks the drafts it
keeps with them without loading every model."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from pydantic_core import PydanticCustomError

if TYPE_CHECKING:
    from pydantic.json_schema import GetJsonSchemaHandler, JsonSchemaValue
    from pydantic_core import CoreSchema


@dataclass(frozen=True)
class Bound:
    """A number QBO and the warehouse can both hold: below 10^`whole` in magnitude, at most `places`
    decimals, finite. Checked before any arithmetic, so no total ever meets 1E+30 or NaN (decimal
    raises on those: a 500, not a refusal). As Annotated metadata it also writes the bound into the
    JSON schema: exclusive limits on the number, a pattern on the string. No `multipleOf`: 0.01 is
    not a binary fraction, and schema validators would refuse 40.59."""

    whole: int
    places: int
    why: str

    def problem(self, value: Any) -> tuple[str, str] | None:
        """(issue, message) when `value` is a number out of bounds; None when it is within them or not
        a number at all (a string like "fifty" is the type check's to refuse)."""
        if isinstance(value, bool) or value is None:
            return None
        if isinstance(value, float) and not math.isfinite(value):
            number = Decimal("NaN")
        elif isinstance(value, int | float | Decimal | str):
            try:
                number = Decimal(value.strip() if isinstance(value, str) else str(value))
            except (InvalidOperation, ValueError):
                return None
        else:
            return None
        if not number.is_finite():
            return (
                "not_a_number",
                f"must be a finite number below 10^{self.whole}: NaN and Infinity are refused",
            )
        if number.copy_abs() >= Decimal(10) ** self.whole:
            return "out_of_range", f"must be below 10^{self.whole} in magnitude ({self.why})"
        if number != number.quantize(Decimal(10) ** -self.places):
            return "too_precise", f"must have at most {self.places} decimal places ({self.why})"
        return None

    def finite(self, value: Any) -> Any:
        """Before parsing: NaN and Infinity (a JSON body may carry the literals) refused by this bound."""
        found = self.problem(value)
        if found is not None and found[0] == "not_a_number":
            raise PydanticCustomError(*found)
        return value

    def check(self, value: Decimal) -> Decimal:
        found = self.problem(value)
        if found is not None:
            raise PydanticCustomError(*found)
        return value

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        out = handler(schema)
        branches = out.get("anyOf", [out])
        numbers = [b for b in branches if b.get("type") == "number"]
        signed = not any(b.get("minimum", b.get("exclusiveMinimum", -1)) >= 0 for b in numbers)
        for branch in numbers:
            if "maximum" not in branch:
                branch.setdefault("exclusiveMaximum", 10**self.whole)
            if signed:
                branch.setdefault("exclusiveMinimum", -(10**self.whole))
        for branch in (b for b in branches if b.get("type") == "string"):
            sign = "-?" if signed else ""
            branch["pattern"] = rf"^{sign}0*\d{{1,{self.whole}}}(\.\d{{0,{self.places}}}0*)?$"
        return out


MONEY = Bound(13, 2, "an amount in cents: QBO holds 15 digits")
QUANTITY = Bound(12, 6, "the warehouse holds decimal(18,6)")
# every bounded number of the DTOs, by wire name (the store checks the drafts it keeps with these)
BOUNDED = {
    **dict.fromkeys(("amount", "totalAmount", "balance", "taxAmount", "discountAmount"), MONEY),
    **dict.fromkeys(("quantity", "unitPrice", "discountPercent", "salesPrice", "purchaseCost"), QUANTITY),
}
