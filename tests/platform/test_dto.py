"""The platform's DTO contract: what it accepts, what it refuses and how the refusal names the field."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from sources.platform.contract import SCHEMAS, schema
from sources.platform.dto import MODELS, Customer, Invoice, contract_error

BASE = {"tenantId": "t1", "updatedAt": "2026-01-02T03:04:05Z"}
CUSTOMER = {**BASE, "createdAt": "2026-01-01T00:00:00Z"}


def line(**changes: Any) -> dict[str, Any]:
    body = {"id": "l1", "itemId": "itm-1", "description": "Pruning", "quantity": 3, "unitPrice": 12.5}
    return body | changes


def invoice(**changes: Any) -> dict[str, Any]:
    body = {
        **BASE,
        "id": "inv-1",
        "customerId": "cus-1",
        "issueDate": "2026-01-02",
        "status": "open",
        "version": 1,
        "lines": [line(lineNumber=1, amount=37.5)],
        "taxAmount": 3.09,
        "totalAmount": 40.59,
        "balance": 40.59,
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


def test_the_specs_example_invoice_is_valid_and_its_lines_are_numbered_and_priced() -> None:
    """SPEC §5.2's shape: no lineNumber, amount or updatedAt; voided is read from status."""
    parsed = Invoice.model_validate(
        {"id": "inv_1", "tenantId": "t1", "customerId": "cus_9", "number": "1001", "issueDate": "2026-11-02",
         "status": "open", "version": 3, "totalAmount": 100, "balance": 100,
         "lines": [{"id": "l1", "description": "...", "quantity": 2, "unitPrice": 50, "taxCodeId": None}]}
    )  # fmt: skip
    (first,) = parsed.lines
    assert (first.line_number, str(first.amount), first.item_id) == (1, "100.00", None)
    assert parsed.updated_at is None and parsed.voided is False
    assert Invoice.model_validate(invoice(status="voided", totalAmount=0, balance=0)).voided is True
    with pytest.raises(ValidationError, match="voided"):
        Invoice.model_validate(invoice(voided=True))  # read-only: status says it


def test_a_customer_takes_the_specs_names_and_a_service_address() -> None:
    parsed = Customer.model_validate(
        {**CUSTOMER, "id": "c", "displayName": "A", "legalName": "A Ltd", "primaryContact": "Ada Lovelace",
         "serviceAddress": {"line1": "1 Main St", "city": "Bayshore"}, "paymentTermsId": "3"}
    )  # fmt: skip
    assert parsed.shipping_address is not None and parsed.shipping_address.city == "Bayshore"
    assert parsed.default_taxable is True  # the spec's default
    dumped = parsed.model_dump(mode="json", by_alias=True)
    assert {"legalName", "primaryContact", "shippingAddress", "defaultTaxable", "paymentTermsId"} <= set(
        dumped
    )


@pytest.mark.parametrize(
    ("entity", "body", "field", "says"),
    [
        ("Invoice", invoice(totalAmount=41), "totalAmount", "lines less the discount plus taxAmount"),
        ("Invoice", invoice(lines=[]), "lines", "at least 1 item"),
        ("Invoice", invoice(lines=[line(amount=12)]), "lines[0].amount", "not quantity x unitPrice"),
        ("Invoice", invoice(lines=[line(unitPrice=-1)]), "lines[0].unitPrice", "greater than or equal to 0"),
        ("Invoice", invoice(lines=[line(description=None)]), "lines[0].description", "valid string"),
        ("Invoice", invoice(dueDate="2025-12-31"), "dueDate", "before issueDate"),
        ("Invoice", invoice(totalAmount=40.591), "totalAmount", "2 decimal places"),
        ("Invoice", invoice(status="sent"), "status", "'draft'"),
        ("Invoice", invoice(status="void"), "status", "'voided'"),
        ("Invoice", invoice(balance=50), "balance", "exceeds totalAmount"),
        ("Invoice", invoice(txnDate="2026-01-02"), "txnDate", "Extra inputs"),  # the old name
        ("Customer", {**CUSTOMER, "id": "c", "displayName": "A", "email": "not-mail"}, "email", "e-mail"),
        ("Customer", {**CUSTOMER, "id": "c", "displayName": ""}, "displayName", "at least 1"),
        (
            "Customer",
            {**CUSTOMER, "id": "c", "displayName": "A", "nickname": "x"},
            "nickname",
            "Extra inputs",
        ),
        ("Customer", {**CUSTOMER, "id": "c", "displayName": "A", "taxExempt": True}, "taxExempt", "Extra"),
        ("Customer", {"tenantId": "t", "id": "c", "displayName": "A"}, "updatedAt", "Field required"),
        ("Customer", {"tenantId": "t", "id": "c", "displayName": "A"}, "createdAt", "Field required"),
        (
            "Customer",
            {**CUSTOMER, "id": "c", "displayName": "A", "updatedAt": "2026-01-02T03:04:05"},
            "updatedAt",
            "timezone",
        ),
        (
            "Customer",
            {**CUSTOMER, "id": "c", "displayName": "A", "qboSyncToken": "3"},
            "qboSyncToken",
            "qboId",
        ),
        ("Item", {**BASE, "id": "i", "name": "Pruning", "type": "Service"}, "type", "'service'"),
        ("Item", {**BASE, "id": "i", "name": "Pruning"}, "type", "Field required"),
        (
            "Bill",
            {
                **BASE,
                "id": "b",
                "vendorId": "v",
                "billDate": "2026-01-02",
                "totalAmount": 5,
                "lines": [{"amount": 5, "expenseAccountId": "7", "itemId": "i"}],
            },
            "lines[0].expenseAccountId",
            "exactly one of expenseAccountId and itemId",
        ),
        (
            "Payment",
            {
                **BASE,
                "id": "p",
                "customerId": "c",
                "date": "2026-01-02",
                "amount": 10,
                "appliedInvoices": [{"invoiceId": "i", "amount": 11}],
            },
            "appliedInvoices",
            "more than amount",
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
    assert set(details) == {"id", "displayName", "email", "createdAt", "updatedAt"}


def test_the_committed_json_schemas_are_the_models() -> None:
    """sources/platform/schemas/ is the platform's contract: regenerate with `qbo platform schemas`."""
    for entity in MODELS:
        committed = json.loads((SCHEMAS / f"{entity}.schema.json").read_text(encoding="utf-8"))
        assert committed == schema(entity), f"{entity}.schema.json is stale: run `qbo platform schemas`"
    invoice_schema = schema("Invoice")
    assert {"customerId", "lines", "totalAmount", "qboId", "number", "issueDate"} <= set(
        invoice_schema["properties"]
    )
    assert {"status", "balance", "version"} <= set(invoice_schema["required"])
    assert "updatedAt" not in invoice_schema["required"]  # absent: when qbo-elt received it
    assert {"createdAt", "updatedAt"} <= set(schema("Customer")["required"])  # SPEC §5.1
