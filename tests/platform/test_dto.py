"""The platform's DTO contract: what it accepts, what it refuses and how the refusal names the field."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from sources.platform.contract import SCHEMAS, schema
from sources.platform.dto import MODELS, Invoice, contract_error

BASE = {"tenantId": "t1", "updatedAt": "2026-01-02T03:04:05Z"}


def invoice(**changes: Any) -> dict[str, Any]:
    body = {
        **BASE,
        "id": "inv-1",
        "customerId": "cus-1",
        "txnDate": "2026-01-02",
        "lines": [{"lineNumber": 1, "itemId": "itm-1", "quantity": 3, "unitPrice": 12.5, "amount": 37.5}],
        "taxAmount": 3.09,
        "totalAmount": 40.59,
    }
    return body | changes


def refusal(entity: str, body: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        MODELS[entity].model_validate(body)
    dto = contract_error(entity, caught.value)
    assert dto["code"] == "PLATFORM_VALIDATION_FAILED"
    return {d["field"]: d["message"] for d in dto["details"]}


def test_a_valid_invoice_keeps_its_money_exact() -> None:
    parsed = Invoice.model_validate(invoice())
    assert str(parsed.total_amount) == "40.59"
    assert parsed.model_dump(mode="json", by_alias=True)["lines"][0]["amount"] == 37.5


@pytest.mark.parametrize(
    ("entity", "body", "field", "says"),
    [
        ("Invoice", invoice(totalAmount=41), "totalAmount", "lines less discountAmount plus taxAmount"),
        ("Invoice", invoice(lines=[]), "lines", "at least 1 item"),
        (
            "Invoice",
            invoice(lines=[{"lineNumber": 1, "itemId": "i", "quantity": 2, "unitPrice": 5, "amount": 12}]),
            "lines[0].amount",
            "not quantity x unitPrice",
        ),
        ("Invoice", invoice(dueDate="2025-12-31"), "dueDate", "before txnDate"),
        ("Invoice", invoice(totalAmount=40.591), "totalAmount", "2 decimal places"),
        ("Invoice", invoice(status="sent"), "status", "'draft'"),
        ("Customer", {**BASE, "id": "c", "displayName": "A", "email": "not-mail"}, "email", "e-mail"),
        ("Customer", {**BASE, "id": "c", "displayName": ""}, "displayName", "at least 1"),
        ("Customer", {**BASE, "id": "c", "displayName": "A", "nickname": "x"}, "nickname", "Extra inputs"),
        ("Customer", {"tenantId": "t", "id": "c", "displayName": "A"}, "updatedAt", "Field required"),
        (
            "Customer",
            {**BASE, "id": "c", "displayName": "A", "updatedAt": "2026-01-02T03:04:05"},
            "updatedAt",
            "timezone",
        ),
        ("Customer", {**BASE, "id": "c", "displayName": "A", "qboSyncToken": "3"}, "qboSyncToken", "qboId"),
        (
            "Payment",
            {
                **BASE,
                "id": "p",
                "customerId": "c",
                "txnDate": "2026-01-02",
                "totalAmount": 10,
                "appliedTo": [{"invoiceId": "i", "amount": 11}],
            },
            "appliedTo",
            "more than totalAmount",
        ),
    ],
)
def test_a_refusal_names_the_field_and_what_is_wrong(
    entity: str, body: dict[str, Any], field: str, says: str
) -> None:
    details = refusal(entity, body)
    assert field in details, details
    assert says in details[field]


def test_every_error_is_reported_at_once() -> None:
    details = refusal("Customer", {"id": "has space", "tenantId": "t", "displayName": "", "email": "x"})
    assert set(details) == {"id", "displayName", "email", "updatedAt"}


def test_the_committed_json_schemas_are_the_models() -> None:
    """sources/platform/schemas/ is the platform's contract: regenerate with `qbo platform schemas`."""
    for entity in MODELS:
        committed = json.loads((SCHEMAS / f"{entity}.schema.json").read_text(encoding="utf-8"))
        assert committed == schema(entity), f"{entity}.schema.json is stale: run `qbo platform schemas`"
    invoice_schema = schema("Invoice")
    assert {"customerId", "lines", "totalAmount", "qboId"} <= set(invoice_schema["properties"])
    assert "updatedAt" in invoice_schema["required"]
