"""The one error DTO (spec §7.2): `code`, `message`, `details[{field, issue}]`, in the platform's names."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sources.platform.dto import MODELS, contract_error
from sources.platform.errors import field_path, issue_of
from sources.quickbooks import errors
from tests.platform.test_dto import invoice


def test_a_refused_line_is_named_as_the_platform_wrote_it() -> None:
    body = invoice(lines=[{"id": f"l{n}", "description": "Pruning", "quantity": 3} for n in range(3)])
    with pytest.raises(ValidationError) as caught:
        MODELS["Invoice"].model_validate(body)
    dto = contract_error("Invoice", caught.value)
    assert set(dto) == {"code", "message", "details"}
    assert {"field": "lines[2].unitPrice", "issue": "required"} in [
        {k: d[k] for k in ("field", "issue")} for d in dto["details"]
    ]
    assert all(set(d) >= {"field", "issue"} for d in dto["details"])


def test_a_bill_line_on_neither_an_account_nor_an_item_is_named() -> None:
    body = {"id": "b", "tenantId": "t", "vendorId": "v", "billDate": "2026-01-02", "totalAmount": 5,
            "lines": [{"amount": 5, "expenseAccountId": "7"}, {"amount": 0}]}  # fmt: skip
    with pytest.raises(ValidationError) as caught:
        MODELS["Bill"].model_validate(body)
    (only,) = contract_error("Bill", caught.value)["details"]
    assert (only["field"], only["issue"]) == ("lines[1].expenseAccountId", "invalid")


@pytest.mark.parametrize(
    ("loc", "path"),
    [
        (("lines", 2, "itemId"), "lines[2].itemId"),
        (("billingAddress", "city"), "billingAddress.city"),
        ((), ""),
    ],
)
def test_field_paths(loc: tuple[str | int, ...], path: str) -> None:
    assert field_path(loc) == path


def test_issues_are_short_words_a_platform_can_act_on() -> None:
    assert [issue_of(k) for k in ("missing", "string_too_long", "extra_forbidden", "6240", "weird-type")] == [
        "required",
        "too_long",
        "unknown_field",
        "duplicate",
        "invalid",
    ]


def test_a_qbo_fault_becomes_the_same_shape_keeping_qbos_code() -> None:
    fault = {
        "Fault": {
            "Error": [{"Message": "Duplicate Name Exists Error", "Detail": "The name already exists.",
                       "code": "6240", "element": "DisplayName"}],
            "type": "ValidationFault",
        }
    }  # fmt: skip
    dto = errors.parse_fault(fault, 400).to_dto()
    (detail,) = dto["details"]
    assert (dto["code"], detail["field"], detail["issue"], detail["code"]) == (
        "QBO_6240",
        "DisplayName",
        "duplicate",
        "6240",
    )
