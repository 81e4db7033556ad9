"""Issue 15, items 1 and 6: numbers and names the platform sends are bounded to what QBO and the
warehouse hold. 1E+30, 1E-30, a unit price of 1e15, NaN and Infinity (Python's json takes the
literals), negative quantities, blank names, NUL and other control characters, and QBO's ':' in a
name are each refused with the error DTO naming the field and saying the bound; never a 500. A draft
kept for approval is held to the same bounds."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, get_args

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel, ValidationError

from pipelines.runtime.connector import Connector
from pipelines.store.integration_store import IntegrationStore
from service.app import create_app
from sources.platform.bounds import BOUNDED
from sources.platform.contract import SCHEMAS
from sources.platform.dto import (
    MODELS,
    AppliedInvoice,
    BillLine,
    Invoice,
    InvoiceLine,
    contract_error,
)
from tests.service.conftest import KEY_A, gateway_settings

API = "/integrations/quickbooks"
STAMPS = {"tenantId": "tenant-a", "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-02T00:00:00Z"}


def line(**changes: Any) -> dict[str, Any]:
    return {"id": "l1", "description": "Pruning", "quantity": 3, "unitPrice": 12.5} | changes


def invoice(**changes: Any) -> dict[str, Any]:
    body = {"id": "inv-1", "customerId": "cus-1", "issueDate": "2026-01-02", "status": "open", "version": 1,
            "lines": [line()], "totalAmount": 37.5, "balance": 37.5, "tenantId": "tenant-a"}  # fmt: skip
    return body | changes


def customer(**changes: Any) -> dict[str, Any]:
    return {"id": "cus-1", "displayName": "Bayshore Botanicals", **STAMPS} | changes


def refusal(entity: str, body: dict[str, Any]) -> dict[str, dict[str, str]]:
    """field -> its detail, from the error DTO the contract answers."""
    with pytest.raises(ValidationError) as caught:
        MODELS[entity].model_validate(body)
    dto = contract_error(entity, caught.value)
    assert dto["code"] == "PLATFORM_VALIDATION_FAILED"
    return {d["field"]: d for d in dto["details"]}


NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(
    ("entity", "body", "field", "issue", "says"),
    [
        ("Invoice", invoice(lines=[line(unitPrice=1e30)]), "lines[0].unitPrice", "out_of_range",
         "below 10^12"),
        ("Invoice", invoice(lines=[line(unitPrice="1E+30")]), "lines[0].unitPrice", "out_of_range", "10^12"),
        ("Invoice", invoice(lines=[line(unitPrice=1e15)]), "lines[0].unitPrice", "out_of_range", "10^12"),
        ("Invoice", invoice(lines=[line(quantity=1e-30)]), "lines[0].quantity", "too_precise", "6 decimal"),
        ("Invoice", invoice(lines=[line(quantity="1E-30")]), "lines[0].quantity", "too_precise", "6 decimal"),
        ("Invoice", invoice(lines=[line(unitPrice=NAN)]), "lines[0].unitPrice", "not_a_number", "finite"),
        ("Invoice", invoice(lines=[line(unitPrice="NaN")]), "lines[0].unitPrice", "not_a_number", "NaN"),
        ("Invoice", invoice(lines=[line(quantity=INF)]), "lines[0].quantity", "not_a_number", "Infinity"),
        ("Invoice", invoice(lines=[line(quantity="-Infinity")]), "lines[0].quantity", "not_a_number",
         "finite"),
        ("Invoice", invoice(lines=[line(quantity=-5)]), "lines[0].quantity", "out_of_range",
         "greater than 0"),
        ("Invoice", invoice(lines=[line(discountPercent=1e-30)]), "lines[0].discountPercent", "too_precise",
         "6 decimal"),
        ("Invoice", invoice(lines=[line(amount=1e-30)]), "lines[0].amount", "too_precise",
         "2 decimal places"),
        ("Invoice", invoice(totalAmount=1e30), "totalAmount", "out_of_range", "below 10^13"),
        ("Invoice", invoice(totalAmount="1E+30", balance=0), "totalAmount", "out_of_range", "10^13"),
        ("Invoice", invoice(totalAmount=NAN), "totalAmount", "not_a_number", "finite"),
        ("Invoice", invoice(balance=INF), "balance", "not_a_number", "finite"),
        ("Invoice", invoice(balance=-1), "balance", "out_of_range", "greater than or equal to 0"),
        ("Invoice", invoice(taxAmount=-1), "taxAmount", "out_of_range", "greater than or equal to 0"),
        ("Invoice", invoice(discountAmount=1e13), "discountAmount", "out_of_range", "10^13"),
        # each within its bound, but their product is more than an amount QBO holds
        ("Invoice", invoice(lines=[line(quantity=999999999999, unitPrice=999999999999)]), "lines[0].amount",
         "invalid", "more than QBO holds"),
        ("Item", {"id": "i", "name": "Hedge", "type": "service", "salesPrice": 1e15, **STAMPS}, "salesPrice",
         "out_of_range", "10^12"),
        ("Item", {"id": "i", "name": "Hedge", "type": "service", "purchaseCost": "NaN", **STAMPS},
         "purchaseCost", "not_a_number", "finite"),
        ("Item", {"id": "i", "name": "Hedge", "type": "service", "salesPrice": -5, **STAMPS}, "salesPrice",
         "out_of_range", "greater than or equal to 0"),
        ("Bill", {"id": "b", "vendorId": "v", "billDate": "2026-01-02", "totalAmount": 1e30, **STAMPS,
                  "lines": [{"amount": 1e30, "expenseAccountId": "7"}]}, "lines[0].amount", "out_of_range",
         "10^13"),
        ("Payment", {"id": "p", "customerId": "c", "date": "2026-01-02", "amount": -5, **STAMPS}, "amount",
         "out_of_range", "greater than or equal to 0"),
        ("Payment", {"id": "p", "customerId": "c", "date": "2026-01-02", "amount": 5, **STAMPS,
                     "appliedInvoices": [{"invoiceId": "i", "amount": INF}]}, "appliedInvoices[0].amount",
         "not_a_number", "finite"),
    ],
)  # fmt: skip
def test_a_number_out_of_bounds_is_refused_naming_the_field_and_the_bound(
    entity: str, body: dict[str, Any], field: str, issue: str, says: str
) -> None:
    details = refusal(entity, body)
    assert field in details, details
    assert details[field]["issue"] == issue, details[field]
    assert says in details[field]["message"], details[field]


def test_numbers_at_the_bound_are_taken_exactly() -> None:
    """The largest amount QBO holds, and a quantity with six decimals, are not refused."""
    big = Invoice.model_validate(
        invoice(lines=[line(quantity="0.000001", unitPrice="999999999999.5", amount="1000000.00")],
                totalAmount="9999999999999.99", taxAmount="9999998999999.99", balance=0)
    )  # fmt: skip
    assert str(big.total_amount) == "9999999999999.99"
    assert str(big.lines[0].quantity) == "0.000001"


@pytest.mark.parametrize(
    ("entity", "body", "field", "issue", "says"),
    [
        ("Customer", customer(displayName="   "), "displayName", "blank", "is blank"),
        ("Customer", customer(displayName="Acme\x00"), "displayName", "control_character", "U+0000"),
        ("Customer", customer(displayName="\x00"), "displayName", "control_character", "U+0000"),
        ("Customer", customer(displayName="Acme\x7f"), "displayName", "control_character", "U+007F"),
        ("Customer", customer(displayName="Acme\x85"), "displayName", "control_character", "U+0085"),
        ("Customer", customer(displayName="Acme\nCorp"), "displayName", "control_character", "U+000A"),
        ("Customer", customer(displayName="Acme\ud800"), "displayName", "bad_format", "unicode"),
        ("Customer", customer(displayName="Acme:Garden"), "displayName", "bad_format", "sub-customer"),
        ("Customer", customer(legalName=" "), "legalName", "blank", "is blank"),
        ("Customer", customer(legalName="Acme\x1bLLC"), "legalName", "control_character", "U+001B"),
        ("Customer", customer(notes="gate\x00code"), "notes", "control_character", "U+0000"),
        ("Customer", customer(phone="555\x00"), "phone", "control_character", "U+0000"),
        ("Customer", customer(billingAddress={"city": "Bay\x00"}), "billingAddress.city", "control_character",
         "U+0000"),
        ("Customer", customer(id="cus\x00"), "id", "bad_format", "pattern"),
        ("Vendor", {"id": "v", "name": "Gravel:Bay", **STAMPS}, "name", "bad_format", "':'"),
        ("Vendor", {"id": "v", "name": "\t", **STAMPS}, "name", "blank", "is blank"),
        ("Item", {"id": "i", "name": "Hedges:Front", "type": "service", **STAMPS}, "name", "bad_format",
         "sub-item"),
        ("Invoice", invoice(memo="note\x00"), "memo", "control_character", "U+0000"),
        ("Invoice", invoice(lines=[line(description="Pruning\x07")]), "lines[0].description",
         "control_character", "U+0007"),
    ],
)  # fmt: skip
def test_a_bad_name_or_text_is_refused_naming_the_field(
    entity: str, body: dict[str, Any], field: str, issue: str, says: str
) -> None:
    details = refusal(entity, body)
    assert field in details, details
    assert details[field]["issue"] == issue, details[field]
    assert says in details[field]["message"], details[field]


def test_free_text_keeps_its_line_breaks_and_tabs() -> None:
    parsed = Invoice.model_validate(invoice(memo="Gate code:\r\n\t4321", lines=[line(description="a\nb")]))
    assert parsed.memo == "Gate code:\r\n\t4321" and parsed.lines[0].description == "a\nb"
    named = MODELS["Customer"].model_validate(customer(displayName="Zoë's Café", notes="first\nsecond"))
    assert named.display_name == "Zoë's Café"  # type: ignore[attr-defined]


def _decimal_fields(model: type[BaseModel]) -> Iterator[str]:
    for name, info in model.model_fields.items():
        if Decimal in (info.annotation, *get_args(info.annotation)):
            yield info.alias or name


def test_every_number_of_the_contract_has_a_bound_the_store_knows() -> None:
    """BOUNDED (which the store checks drafts with) names every Decimal field of every DTO."""
    models = [*MODELS.values(), InvoiceLine, BillLine, AppliedInvoice]
    fields = {name for model in models for name in _decimal_fields(model)}
    assert fields and fields <= set(BOUNDED), fields - set(BOUNDED)


def number_branch(prop: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    branches = {b.get("type"): b for b in prop["anyOf"]}
    return branches["number"], branches["string"]


def test_the_committed_json_schemas_show_the_bounds() -> None:
    invoice_schema = json.loads((SCHEMAS / "Invoice.schema.json").read_text(encoding="utf-8"))
    line_props = invoice_schema["$defs"]["InvoiceLine"]["properties"]
    price, price_text = number_branch(line_props["unitPrice"])
    assert (price["exclusiveMaximum"], price["minimum"]) == (10**12, 0)
    quantity, _ = number_branch(line_props["quantity"])
    assert (quantity["exclusiveMaximum"], quantity["exclusiveMinimum"]) == (10**12, 0)
    total, total_text = number_branch(invoice_schema["properties"]["totalAmount"])
    assert (total["exclusiveMaximum"], total["minimum"]) == (10**13, 0)
    amount, _ = number_branch(line_props["amount"])  # optional: the bound still reaches it
    assert amount["exclusiveMaximum"] == 10**13
    for text in ("40.59", "40.5900", "9999999999999.99"):
        assert re.match(total_text["pattern"], text), text
    for text in ("1E+30", "40.591", "10000000000000", "-1", "NaN"):
        assert not re.match(total_text["pattern"], text), text
    assert re.match(price_text["pattern"], "12.123456") and not re.match(price_text["pattern"], "1.1234567")
    item_schema = json.loads((SCHEMAS / "Item.schema.json").read_text(encoding="utf-8"))
    sales, _ = number_branch(item_schema["properties"]["salesPrice"])
    assert sales["exclusiveMaximum"] == 10**12
    assert "':'" in item_schema["properties"]["name"]["description"]


# through the gateway: the body is parsed by Python's json, which takes NaN and Infinity literals


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Connector(gateway_settings(tmp_path))), raise_server_exceptions=False) as c:
        yield c


def post_raw(gateway: TestClient, plural: str, text: str) -> Any:
    headers = {"X-API-Key": KEY_A, "content-type": "application/json"}
    return gateway.post(f"{API}/{plural}", content=text.encode(), headers=headers)


INVOICE_TEXT = (
    '{"id":"inv_1","customerId":"cus_9","issueDate":"2026-11-02","status":"open","version":3,'
    '"lines":[{"id":"l1","description":"Pruning","quantity":QTY,"unitPrice":PRICE}],'
    '"totalAmount":TOTAL,"balance":0}'
)


def invoice_text(qty: str = "2", price: str = "50", total: str = "100") -> str:
    return INVOICE_TEXT.replace("QTY", qty).replace("PRICE", price).replace("TOTAL", total)


@pytest.mark.parametrize(
    ("plural", "text", "field", "says"),
    [
        ("invoices", invoice_text(price="1E+30"), "lines[0].unitPrice", "below 10^12"),
        ("invoices", invoice_text(qty="1E-30"), "lines[0].quantity", "at most 6 decimal places"),
        ("invoices", invoice_text(price="1e15"), "lines[0].unitPrice", "below 10^12"),
        ("invoices", invoice_text(price="NaN"), "lines[0].unitPrice", "finite"),
        ("invoices", invoice_text(qty="Infinity"), "lines[0].quantity", "finite"),
        ("invoices", invoice_text(price="-Infinity"), "lines[0].unitPrice", "finite"),
        ("invoices", invoice_text(qty="-5"), "lines[0].quantity", "greater than 0"),
        ("invoices", invoice_text(total="1E+30"), "totalAmount", "below 10^13"),
        ("invoices", invoice_text(total="NaN"), "totalAmount", "finite"),
        ("invoices", invoice_text(total="1e-30"), "totalAmount", "2 decimal places"),
        ("customers", json.dumps(customer(displayName="  ")), "displayName", "blank"),
        ("customers", json.dumps(customer(displayName="Acme\x00")), "displayName", "U+0000"),
        ("customers", json.dumps(customer(displayName="Acme:Garden")), "displayName", "':'"),
        ("vendors", json.dumps({"id": "v", "name": "Gravel:Bay", **STAMPS}), "name", "':'"),
        ("items", json.dumps({"id": "i", "name": "a\x00", "type": "service", **STAMPS}), "name", "U+0000"),
    ],
)
def test_the_gateway_answers_422_naming_the_field(gateway: TestClient, plural: str, text: str, field: str,
                                                  says: str) -> None:  # fmt: skip
    answer = post_raw(gateway, plural, text)
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["code"] == "PLATFORM_VALIDATION_FAILED" and set(body) == {"code", "message", "details"}
    named = {d["field"]: d["message"] for d in body["details"]}
    assert field in named, named
    assert says in named[field], named[field]


def test_a_valid_record_gets_past_the_contract(gateway: TestClient) -> None:
    """The same body within its bounds is taken, and stops only because tenant-a has no company."""
    answer = post_raw(gateway, "invoices", invoice_text())
    assert (answer.status_code, answer.json()["code"]) == (404, "NOT_CONNECTED")


# drafts (`qbo ask`) kept for approval


@pytest.fixture
def store(tmp_path: Path) -> IntegrationStore:
    return IntegrationStore(f"sqlite:///{tmp_path / 'store.sqlite'}")


def draft(**changes: Any) -> dict[str, Any]:
    record = invoice(lines=[line(quantity="1", unitPrice="500.00", amount="500.00")], totalAmount="500.00",
                     balance="500.00", id="ask-1")  # fmt: skip
    return record | changes


def test_a_draft_within_bounds_waits_for_a_person(store: IntegrationStore) -> None:
    queued, status = store.intents.queue_write("mcp:agent", "123", "Invoice", draft(), None)
    assert status == "pending"
    assert [w["id"] for w in store.intents.pending_writes()] == [queued]


def test_a_draft_out_of_bounds_is_incomplete_naming_each_field(store: IntegrationStore) -> None:
    hostile = draft(totalAmount="1E+30", lines=[line(quantity=NAN, unitPrice=1e15, amount="0.001")])
    queued, status = store.intents.queue_write("mcp:agent", "123", "Invoice", hostile, None)
    assert status == "incomplete"
    kept = store.intents.write(queued)
    assert kept is not None and store.intents.pending_writes() == []
    named = {d["field"]: (d["issue"], d["message"]) for d in kept["error"]["details"]}
    assert named["totalAmount"][0] == "out_of_range" and "10^13" in named["totalAmount"][1]
    assert named["lines[0].quantity"][0] == "not_a_number"
    assert named["lines[0].unitPrice"][0] == "out_of_range"
    assert named["lines[0].amount"] == ("too_precise", named["lines[0].amount"][1])
    assert kept["record"]["lines"][0]["quantity"] == "nan"  # kept as text: JSON has no NaN


def test_a_drafts_own_error_keeps_its_details_and_gains_the_bounds(store: IntegrationStore) -> None:
    error = {"code": "DRAFT_INCOMPLETE", "message": "QBO has no customer named 'X'",
             "details": [{"field": "customerName", "issue": "unknown_name"}]}  # fmt: skip
    queued, status = store.intents.queue_write("cli", "123", "Invoice", draft(balance=INF), error)
    assert status == "incomplete"
    kept = store.intents.write(queued)
    assert kept is not None and kept["error"]["code"] == "DRAFT_INCOMPLETE"
    assert [d["field"] for d in kept["error"]["details"]] == ["customerName", "balance"]


def test_drafts_with_nan_are_kept_on_postgresql(postgres_url: str) -> None:
    """PostgreSQL's JSON refuses a NaN number: the draft and its audit are still kept, as incomplete."""
    store = IntegrationStore(postgres_url)
    queued, status = store.intents.queue_write("cli", "123", "Invoice", draft(totalAmount=NAN), None)
    assert status == "incomplete"
    store.intents.audit(caller="cli", intent={"record": {"amount": NAN}}, ran_on="refused")
    kept = store.intents.write(queued)
    assert kept is not None and kept["record"]["totalAmount"] == "nan"
