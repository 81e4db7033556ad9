"""The SPEC's own payloads through the gateway: §5.1 Customer, §5.2 Invoice (the spec's example, as
written: no tenantId, no updatedAt), §5.3 Item, and a Vendor, Bill and Payment in the §4.2 names, each
created in a sandbox company with the §4.2 mapping; records the contract refuses answer the §7.2
error DTO, naming the field as the platform wrote it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pipelines.runtime.connector import Connector
from sandbox.demo.world import World, world
from service.app import create_app
from tests.service.conftest import KEY_A, KEY_ALL, gateway_settings

API = "/integrations/quickbooks"
TENANT = "tenant-a"  # KEY_A is bound to it alone
STAMP = "2026-11-01T09:00:00Z"

# SPEC §5.1, every field; primaryContact is §4.2.1's
CUSTOMER = {
    "id": "cus_9",
    "qboId": None,
    "displayName": "Bayshore Botanicals",
    "legalName": "Bayshore Botanicals LLC",
    "primaryContact": "Ada Quinn Lovelace",
    "email": "ap@bayshore.example",
    "phone": "(650) 555-0199",
    "billingAddress": {"line1": "12 Harbor Way", "line2": "Suite 4", "city": "Bayshore",
                       "region": "CA", "postalCode": "94326", "country": "USA"},
    "shippingAddress": {"line1": "99 Greenhouse Rd", "line2": None, "city": "Middlefield",
                        "region": "CA", "postalCode": "94482", "country": "USA"},
    "defaultTaxable": False,
    "paymentTermsId": "3",  # Net 30 in the sandbox company
    "createdAt": STAMP,
    "updatedAt": STAMP,
}  # fmt: skip
# SPEC §5.3
ITEM = {
    "id": "itm_1",
    "qboId": None,
    "name": "Hedge trimming",
    "sku": "HT-1",
    "type": "service",
    "salesPrice": 40,
    "purchaseCost": None,
    "incomeAccountId": "21",  # "Services", an Income account
    "expenseAccountId": None,
    "assetAccountId": None,
    "trackQty": False,
}
# SPEC §5.2's example, verbatim
EXAMPLE_INVOICE = json.loads(
    '{"id":"inv_1","customerId":"cus_9","number":"1001","issueDate":"2026-11-02","status":"open",'
    '"version":3,"lines":[{"id":"l1","description":"...","quantity":2,"unitPrice":50,"taxCodeId":null}],'
    '"totalAmount":100,"balance":100}'
)
INVOICE_WITH_ITEM = {
    "id": "inv_2",
    "customerId": "cus_9",
    "number": "1002",
    "issueDate": "2026-11-02",
    "dueDate": "2026-12-02",
    "paymentTermsId": "3",
    "currency": "USD",
    "lines": [
        {"id": "l1", "itemId": "itm_1", "description": "Hedge trimming, front garden", "quantity": 3,
         "unitPrice": 40, "taxCodeId": "NON", "serviceDate": "2026-11-01"},
        {"id": "l2", "description": "Call-out", "quantity": 1, "unitPrice": 25},
    ],
    "memo": "Gate code 4321",
    "status": "open",
    "totalAmount": 145,
    "balance": 145,
    "version": 0,
}  # fmt: skip
# §4.2.2, §4.2.4, §4.2.5
VENDOR = {
    "id": "ven_1",
    "name": "Bayside Gravel",
    "contactName": "Gus Stone",
    "email": "orders@gravel.example",
    "phone": "(650) 555-0142",
    "apAccountId": "10",  # Accounts Payable (A/P)
    "paymentTermsId": "2",  # Net 15
}
BILL = {
    "id": "bill_1",
    "vendorId": "ven_1",
    "referenceNumber": "G-77",
    "billDate": "2026-11-03",
    "dueDate": "2026-11-18",
    "lines": [
        {"description": "Gravel delivery", "amount": 120, "expenseAccountId": "38"},  # Supplies
        {"description": "Hedge trimming, subcontracted", "amount": 80, "itemId": "itm_1"},
    ],
    "totalAmount": 200,
}
PAYMENT = {
    "id": "pay_1",
    "customerId": "cus_9",
    "date": "2026-11-20",
    "amount": 100,
    "appliedInvoices": [{"invoiceId": "inv_1", "amount": 100}],
    "referenceNumber": "CHK-1001",
}


@dataclass
class Company:
    world: World
    api: TestClient

    def post(self, plural: str, record: dict[str, Any], key: str = KEY_A) -> Any:
        return self.api.post(f"{API}/{plural}", json=record, headers={"X-API-Key": key})

    def created(self, plural: str, record: dict[str, Any], entity: str) -> dict[str, Any]:
        """Post a record, expect it created; the record as the sandbox company now holds it."""
        answer = self.post(plural, record)
        assert answer.status_code == 201, answer.text
        assert answer.json()["operation"] == "create"
        return self.qbo(entity, answer.json()["qboId"])

    def qbo(self, entity: str, qbo_id: str) -> dict[str, Any]:
        found = self.world.sandbox.store.get(self.world.realm_id, entity, int(qbo_id))
        assert found is not None, f"{entity} {qbo_id} is not in the sandbox"
        return found.doc

    def count(self, entity: str) -> int:
        (n,) = self.world.sandbox.store.execute(
            "SELECT count(*) FROM entities WHERE realm_id = ? AND entity = ? AND NOT deleted",
            (self.world.realm_id, entity),
        ).fetchone()
        return n


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Company]:
    """An empty sandbox company (a chart of accounts, terms and payment methods; no document number
    of the spec's example in use) connected for tenant-a; the gateway knows conftest's keys. The
    tenant's platform masters vendors, bills and payments too, so all six entities are created."""
    workdir = tmp_path_factory.mktemp("spec_shapes")
    overrides = [{"tenant": TENANT, "entity": e, "master": "platform"} for e in ("Vendor", "Bill", "Payment")]
    with (
        pytest.MonkeyPatch.context() as env,
        world(workdir, "empty", write=lambda _: None, tenant=TENANT) as w,
    ):
        env.setenv("TRANSFORM__MASTERING__OVERRIDES", json.dumps(overrides))
        keys = gateway_settings(workdir).gateway_api_keys
        with TestClient(create_app(Connector(replace(w.settings, gateway_api_keys=keys)))) as api:
            yield Company(w, api)


def qbo_id(doc: dict[str, Any]) -> str:
    return str(doc["Id"])


def test_the_spec_shapes_are_created_in_qbo_with_the_spec_mapping(company: Company) -> None:
    """In file order: what the invoices, the bill and the payment reference is created first."""
    # §5.1 Customer
    customer = company.created("customers", CUSTOMER, "Customer")
    assert customer["DisplayName"] == "Bayshore Botanicals"
    assert customer["CompanyName"] == "Bayshore Botanicals LLC"  # legalName
    assert (customer["GivenName"], customer["FamilyName"]) == ("Ada Quinn", "Lovelace")  # primaryContact
    assert customer["PrimaryEmailAddr"]["Address"] == "ap@bayshore.example"
    assert customer["PrimaryPhone"]["FreeFormNumber"] == "(650) 555-0199"
    billed = customer["BillAddr"]  # billingAddress
    assert (billed["Line1"], billed["Line2"], billed["City"], billed["Country"]) == (
        "12 Harbor Way",
        "Suite 4",
        "Bayshore",
        "USA",
    )
    ship = customer["ShipAddr"]  # shippingAddress
    assert (ship["Line1"], ship["City"], ship["CountrySubDivisionCode"], ship["PostalCode"]) == (
        "99 Greenhouse Rd",
        "Middlefield",
        "CA",
        "94482",
    )
    assert customer["Taxable"] is False  # defaultTaxable
    assert customer["SalesTermRef"]["value"] == "3"  # paymentTermsId

    # §5.3 Item
    item = company.created("items", ITEM, "Item")
    assert (item["Name"], item["Sku"], item["Type"]) == ("Hedge trimming", "HT-1", "Service")
    assert item["UnitPrice"] == 40  # salesPrice
    assert item["IncomeAccountRef"]["value"] == "21"  # incomeAccountId
    assert item["TrackQtyOnHand"] is False

    # §5.2 Invoice: the example, as the spec writes it (no tenantId: KEY_A's tenant; no updatedAt)
    before = datetime.now(UTC)
    answer = company.post("invoices", EXAMPLE_INVOICE)
    assert answer.status_code == 201, answer.text
    assert before <= datetime.fromisoformat(answer.json()["updatedAt"]) <= datetime.now(UTC)
    example = company.qbo("Invoice", answer.json()["qboId"])
    assert example["CustomerRef"]["value"] == qbo_id(customer)  # customerId, through the link
    assert (example["DocNumber"], example["TxnDate"], example["TotalAmt"]) == ("1001", "2026-11-02", 100)
    (line,) = [x for x in example["Line"] if x["DetailType"] == "SalesItemLineDetail"]
    assert line["Description"] == "..." and line["Amount"] == 100
    assert (line["SalesItemLineDetail"]["Qty"], line["SalesItemLineDetail"]["UnitPrice"]) == (2, 50)

    # ... and one with an item line, terms, memo, service date
    with_item = company.created("invoices", INVOICE_WITH_ITEM, "Invoice")
    sold = [x for x in with_item["Line"] if x["DetailType"] == "SalesItemLineDetail"]
    assert sold[0]["SalesItemLineDetail"]["ItemRef"]["value"] == qbo_id(item)  # itemId, through the link
    assert sold[0]["SalesItemLineDetail"]["UnitPrice"] == 40  # line.unitPrice
    assert sold[0]["SalesItemLineDetail"]["ServiceDate"] == "2026-11-01"
    assert sold[0]["SalesItemLineDetail"]["TaxCodeRef"]["value"] == "NON"  # taxCodeId
    assert [x["Description"] for x in sold] == ["Hedge trimming, front garden", "Call-out"]
    assert with_item["PrivateNote"] == "Gate code 4321"  # memo
    assert with_item["SalesTermRef"]["value"] == "3" and with_item["TotalAmt"] == 145

    # §4.2.2 Vendor
    vendor = company.created("vendors", VENDOR, "Vendor")
    assert vendor["DisplayName"] == "Bayside Gravel"  # name
    assert (vendor["GivenName"], vendor["FamilyName"]) == ("Gus", "Stone")
    assert vendor["APAccountRef"]["value"] == "10"  # apAccountId
    assert vendor["TermRef"]["value"] == "2"  # paymentTermsId

    # §4.2.4 Bill: one line on an expense account, one for an item
    bill = company.created("bills", BILL, "Bill")
    assert bill["VendorRef"]["value"] == qbo_id(vendor)
    assert (bill["DocNumber"], bill["TxnDate"], bill["DueDate"]) == ("G-77", "2026-11-03", "2026-11-18")
    on_account, for_item = bill["Line"]
    assert on_account["DetailType"] == "AccountBasedExpenseLineDetail"
    assert on_account["AccountBasedExpenseLineDetail"]["AccountRef"]["value"] == "38"  # expenseAccountId
    assert for_item["DetailType"] == "ItemBasedExpenseLineDetail"
    assert for_item["ItemBasedExpenseLineDetail"]["ItemRef"]["value"] == qbo_id(item)  # itemId
    assert (on_account["Amount"], for_item["Amount"], bill["TotalAmt"]) == (120, 80, 200)

    # §4.2.5 Payment, applied to the spec's example invoice
    payment = company.created("payments", PAYMENT, "Payment")
    assert payment["CustomerRef"]["value"] == qbo_id(customer)
    assert (payment["TxnDate"], payment["TotalAmt"], payment["PaymentRefNum"]) == (
        "2026-11-20",
        100,
        "CHK-1001",
    )
    (applied,) = payment["Line"]  # appliedInvoices
    assert applied["Amount"] == 100
    assert applied["LinkedTxn"] == [{"TxnId": example["Id"], "TxnType": "Invoice"}]
    assert company.qbo("Invoice", example["Id"])["Balance"] == 0


def test_a_record_pushed_again_unchanged_sends_nothing(company: Company) -> None:
    answer = company.post("customers", CUSTOMER)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["operation"], answer.json()["awaitingApproval"]) == ("unchanged", [])


def test_line_discount_percentages_become_the_invoices_discount_line(company: Company) -> None:
    """QBO keeps discounts per invoice: 10% off a 3 x 40 line and none off the other is one discount
    line of 12.00, and the total the platform computed is QBO's."""
    discounted = {
        **INVOICE_WITH_ITEM,
        "id": "inv_disc",
        "number": "1003",
        "lines": [
            {**INVOICE_WITH_ITEM["lines"][0], "discountPercent": 10},
            INVOICE_WITH_ITEM["lines"][1],
        ],
        "totalAmount": 133,  # 120 + 25 - 12
        "balance": 133,
    }
    doc = company.created("invoices", discounted, "Invoice")
    (discount,) = [x for x in doc["Line"] if x["DetailType"] == "DiscountLineDetail"]
    assert discount["Amount"] == 12
    assert doc["TotalAmt"] == 133


def test_a_draft_invoice_is_not_created(company: Company) -> None:
    before = company.count("Invoice")
    draft = {**EXAMPLE_INVOICE, "id": "inv_draft", "number": "1099", "status": "draft"}
    answer = company.post("invoices", draft)
    assert answer.status_code == 409, answer.text
    body = answer.json()
    assert body["code"] == "NOT_PUSHABLE" and "draft" in body["message"]
    assert [(d["field"], d["issue"]) for d in body["details"]] == [("status", "not_pushable")]
    assert company.count("Invoice") == before


def test_what_qbo_would_refuse_is_refused_before_sending_naming_the_platform_field(company: Company) -> None:
    before = company.count("Customer")
    long_name = {**CUSTOMER, "id": "cus_long", "displayName": "Bayshore " * 12, "legalName": None}
    answer = company.post("customers", long_name)
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["code"] == "QBO_VALIDATION_FAILED"
    assert [(d["field"], d["issue"]) for d in body["details"]] == [("displayName", "too_long")]
    assert company.count("Customer") == before


def test_voiding_is_status_voided_and_waits_for_approval(company: Company) -> None:
    answer = company.post("invoices", {**INVOICE_WITH_ITEM, "status": "voided"})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["operation"], answer.json()["awaitingApproval"]) == ("unchanged", ["void"])
    assert company.qbo("Invoice", answer.json()["qboId"])["TotalAmt"] == 145  # not voided in real time
    never_pushed = {**INVOICE_WITH_ITEM, "id": "inv_void", "number": "1098", "status": "voided"}
    refused = company.post("invoices", never_pushed)
    assert (refused.status_code, refused.json()["code"]) == (409, "NOT_PUSHABLE")


def test_what_qbo_refuses_is_named_in_the_platforms_terms(company: Company) -> None:
    before = company.count("Item")
    answer = company.post("items", {**ITEM, "id": "itm_bad", "name": "Ghost plan", "incomeAccountId": "999"})
    assert answer.status_code == 422, answer.text
    (refused,) = answer.json()["details"]
    assert (refused["field"], refused["issue"], refused["qboElement"]) == (
        "incomeAccountId",
        "invalid_reference",
        "IncomeAccountRef",
    )
    assert company.count("Item") == before


def test_a_key_for_several_tenants_must_name_the_tenant(company: Company) -> None:
    answer = company.post("invoices", {**EXAMPLE_INVOICE, "id": "inv_9"}, key=KEY_ALL)
    assert answer.status_code == 422, answer.text
    body = answer.json()
    (missing,) = body["details"]
    assert (missing["field"], missing["issue"]) == ("tenantId", "required")
    assert "tenantId" in missing["message"] and "several tenants" in missing["message"]
    named = company.post("invoices", {**EXAMPLE_INVOICE, "id": "inv_9", "number": "1009", "tenantId": TENANT},
                         key=KEY_ALL)  # fmt: skip
    assert named.status_code == 201, named.text


def test_a_refused_record_names_the_field_in_the_platforms_terms(gateway: TestClient) -> None:
    """The contract refuses before QBO is asked: no company needed."""
    bad = {
        **EXAMPLE_INVOICE,
        "tenantId": TENANT,
        "lines": [{**EXAMPLE_INVOICE["lines"][0], "unitPrice": "fifty"}, {"id": "l2", "quantity": 1}],
    }
    answer = gateway.post(f"{API}/invoices", json=bad, headers={"X-API-Key": KEY_A})
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["code"] == "PLATFORM_VALIDATION_FAILED" and set(body) == {"code", "message", "details"}
    issues = {(d["field"], d["issue"]) for d in body["details"]}
    assert ("lines[0].unitPrice", "not_a_number") in issues
    assert {("lines[1].description", "required"), ("lines[1].unitPrice", "required")} <= issues
    old = {k: v for k, v in EXAMPLE_INVOICE.items() if k != "issueDate"} | {"txnDate": "2026-11-02"}
    renamed = gateway.post(f"{API}/invoices", json=old, headers={"X-API-Key": KEY_A}).json()
    assert {(d["field"], d["issue"]) for d in renamed["details"]} == {
        ("issueDate", "required"),
        ("txnDate", "unknown_field"),
    }


def test_a_key_bound_to_one_tenant_fills_in_the_tenant(gateway: TestClient, tmp_path: Path) -> None:
    """The gateway fixture's tenant-a is connected to no company: the record was taken as tenant-a's."""
    answer = gateway.post(f"{API}/invoices", json=EXAMPLE_INVOICE, headers={"X-API-Key": KEY_A})
    assert answer.status_code == 404, answer.text
    assert answer.json()["code"] == "NOT_CONNECTED" and TENANT in answer.json()["message"]
