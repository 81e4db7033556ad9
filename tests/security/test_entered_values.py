"""A value a person types in review (`qbo review resolve --value`, the console) is bounded as the platform's
records are: QBO and the warehouse must hold it exactly, or the next push and transform would fail."""

from __future__ import annotations

import pytest

from pipelines.store.review import DecisionError, Target, _entered

PRICE = Target("drift", "tenant-a", "Item", "item-1", "7", "unit_price")
NAME = Target("drift", "tenant-a", "Customer", "cust-1", "9", "display_name")


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("1E+30", "below 10^12"),
        ("1000000000000", "below 10^12"),
        ("1E-30", "at most 6 decimal places"),
        ("0.0000001", "at most 6 decimal places"),
        ("NaN", "is not one"),
        ("Infinity", "is not one"),
        ("twelve", "is not one"),
    ],
)
def test_an_entered_number_out_of_bounds_is_refused_naming_the_field(typed: str, says: str) -> None:
    with pytest.raises(DecisionError) as refused:
        _entered(PRICE, typed)
    assert "unit_price" in str(refused.value) and says in str(refused.value)


def test_an_entered_number_within_bounds_is_kept_exactly() -> None:
    assert _entered(PRICE, "999,999,999,999.123456") == "999999999999.123456"
    assert _entered(PRICE, " 40.5 ") == "40.5"


def test_an_entered_name_with_a_control_character_is_refused() -> None:
    with pytest.raises(DecisionError, match="display_name: the value holds a control character"):
        _entered(NAME, "Acme\x00 Corp")
    assert _entered(NAME, "Acme Corp") == "Acme Corp"
