"""The sandbox answers with the keys and shapes of real QBO payloads (tests/fixtures/qbo).

Each test sends what produced a recorded real response and compares envelopes, key sets and value
types with the recording. Values differ (other data); shapes must not.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import requests

from sandbox.background import RunningSandbox
from tests.conftest import sample
from tests.qbo_http import QboHttp, fault_code

SERVER_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[-+]\d\d:\d\d$")
META_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d$")


def kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def assert_types_agree(ours: dict[str, Any], real: dict[str, Any], where: str = "") -> None:
    """Every key both have carries the same JSON type, recursively."""
    for key in set(ours) & set(real):
        assert kind(ours[key]) == kind(real[key]), (
            f"{where}{key}: {kind(ours[key])} vs real {kind(real[key])}"
        )
        if isinstance(ours[key], dict):
            assert_types_agree(ours[key], real[key], f"{where}{key}.")


def assert_entity_like(ours: dict[str, Any], real: dict[str, Any]) -> None:
    for key in ("domain", "sparse", "Id", "SyncToken", "MetaData"):
        assert key in ours, f"missing {key}"
    assert ours["domain"] == "QBO" and ours["sparse"] is False
    assert ours["Id"].isdigit() and ours["SyncToken"].isdigit()
    assert META_TIME.match(ours["MetaData"]["CreateTime"]) and META_TIME.match(
        ours["MetaData"]["LastUpdatedTime"]
    )
    assert_types_agree(ours, real)


def test_query_page_empty_page_and_count(tiny: QboHttp) -> None:
    real = sample("query_response_customer.json")
    body = tiny.query(
        "SELECT * FROM Customer WHERE Active IN (true, false) MAXRESULTS 2 STARTPOSITION 1"
    ).json()
    assert set(body) == set(real) == {"QueryResponse", "time"}
    assert set(body["QueryResponse"]) == set(real["QueryResponse"])
    assert SERVER_TIME.match(body["time"])
    assert body["QueryResponse"]["maxResults"] == len(body["QueryResponse"]["Customer"]) == 2
    assert_entity_like(body["QueryResponse"]["Customer"][0], real["QueryResponse"]["Customer"][0])

    empty = tiny.query("SELECT * FROM Customer STARTPOSITION 100000").json()
    assert empty["QueryResponse"] == sample("query_response_empty_2020.json")["QueryResponse"] == {}
    assert set(empty) == {"QueryResponse", "time"}

    count = tiny.query("SELECT COUNT(*) FROM Customer").json()
    assert set(count["QueryResponse"]) == set(sample("query_count_response.json")["QueryResponse"])


def test_last_page_reports_rows_returned_not_page_size(tiny: QboHttp) -> None:
    total = tiny.query("SELECT COUNT(*) FROM Vendor").json()["QueryResponse"]["totalCount"]
    body = tiny.query(f"SELECT * FROM Vendor MAXRESULTS 5 STARTPOSITION {total}").json()["QueryResponse"]
    real = sample("query_response_vendor_lastpage.json")["QueryResponse"]
    assert body["maxResults"] == 1 == real["maxResults"]
    assert body["startPosition"] == total


def test_read_create_update_match_the_recorded_customer_exchanges(tiny: QboHttp) -> None:
    created = tiny.post("customer", {"DisplayName": "Doe5, Jane"})
    real_create = sample("customer_create_response.json")
    assert created.status_code == 200
    assert set(created.json()) == set(real_create)
    ours = created.json()["Customer"]
    assert set(ours) == set(real_create["Customer"])  # the same server defaults, no more, no fewer
    assert ours["SyncToken"] == "0" and ours["FullyQualifiedName"] == ours["PrintOnCheckName"] == "Doe5, Jane"
    assert_entity_like(ours, real_create["Customer"])

    read = tiny.read("customer", ours["Id"]).json()
    assert set(read) == set(sample("customer_read.json"))
    assert read["Customer"] == ours

    updated = tiny.post(
        "customer",
        {
            "DisplayName": "Jack Moe",
            "PrimaryPhone": {"FreeFormNumber": "(415) 444-1234"},
            "Id": ours["Id"],
            "SyncToken": "0",
        },
    ).json()["Customer"]
    real_update = sample("customer_update_response.json")["Customer"]
    assert updated["SyncToken"] == "1" == real_update["SyncToken"]
    assert updated["FullyQualifiedName"] == updated["PrintOnCheckName"] == "Jack Moe"
    assert updated["MetaData"]["CreateTime"] == ours["MetaData"]["CreateTime"]
    assert_entity_like(updated, real_update)


def test_invoice_create_delete_and_void_shapes(tiny: QboHttp) -> None:
    customer = tiny.rows("SELECT * FROM Customer MAXRESULTS 1")[0]
    item = tiny.rows("SELECT * FROM Item WHERE Type = 'Service' MAXRESULTS 1")[0]
    body = {
        "Line": [
            {
                "Amount": 100.0,
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}},
            }
        ],
        "CustomerRef": {"value": customer["Id"]},
    }
    real = sample("invoice_create_response.json")["Invoice"]
    invoice = tiny.ok("invoice", body)
    missing = {"CustomField"}  # the recorded company had a custom field defined; ours has none
    assert set(real) - set(invoice) <= missing
    assert invoice["Line"][-1] == {
        "Amount": 100,
        "DetailType": "SubTotalLineDetail",
        "SubTotalLineDetail": {},
    }
    assert invoice["Balance"] == invoice["TotalAmt"] == 100
    assert_entity_like(invoice, real)

    voided = tiny.post("invoice", {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"]}, operation="void")
    real_void = sample("invoice_void_response.json")["Invoice"]
    ours = voided.json()["Invoice"]
    assert ours["PrivateNote"] == real_void["PrivateNote"] == "Voided"
    assert ours["TotalAmt"] == ours["Balance"] == 0 and all(line["Amount"] == 0 for line in ours["Line"])
    assert ours["SyncToken"] == str(int(invoice["SyncToken"]) + 1)
    assert ours["DocNumber"] == invoice["DocNumber"] and ours["TxnDate"] == invoice["TxnDate"]

    deleted = tiny.post(
        "invoice", {"Id": ours["Id"], "SyncToken": ours["SyncToken"]}, operation="delete"
    ).json()
    real_delete = sample("invoice_delete_response.json")
    assert set(deleted) == set(real_delete)
    assert deleted["Invoice"] == {"domain": "QBO", "status": "Deleted", "Id": ours["Id"]}
    assert fault_code(tiny.read("invoice", ours["Id"])) == "610"


def test_batch_answers_each_item_like_the_recording(tiny: QboHttp) -> None:
    invoice = tiny.rows("SELECT * FROM Invoice MAXRESULTS 1")[0]
    receipt = tiny.rows("SELECT * FROM SalesReceipt MAXRESULTS 1")[0]
    request = {
        "BatchItemRequest": [
            {"bId": "bid1", "operation": "create", "Vendor": {"DisplayName": "Boraski Family Store"}},
            {"bId": "bid2", "operation": "delete", "Invoice": {"Id": "99999", "SyncToken": "0"}},
            {
                "bId": "bid3",
                "operation": "update",
                "SalesReceipt": {
                    "domain": "QBO",
                    "sparse": True,
                    "Id": receipt["Id"],
                    "SyncToken": "99",
                    "PrivateNote": "A private note.",
                },
            },
            {"bId": "bid4", "Query": "select * from Invoice where TotalAmt > '0.00'"},
        ]
    }
    response = tiny.session.post(f"{tiny.base}/batch", json=request, headers=tiny.headers(), timeout=30)
    assert response.status_code == 200
    ours = response.json()
    real = sample("batch_response.json")
    assert set(ours) == set(real)
    assert [sorted(item) for item in ours["BatchItemResponse"]] == [
        sorted(item) for item in real["BatchItemResponse"]
    ]
    assert [fault_code_of(i) for i in ours["BatchItemResponse"][1:3]] == ["610", "5010"]
    assert [fault_code_of(i) for i in real["BatchItemResponse"][1:3]] == ["610", "5010"]
    assert set(ours["BatchItemResponse"][1]["Fault"]) == set(real["BatchItemResponse"][1]["Fault"])
    assert invoice["Id"]


def fault_code_of(item: dict[str, Any]) -> str:
    return item["Fault"]["Error"][0]["code"]


def test_cdc_shape_with_live_and_deleted_objects(tiny: QboHttp) -> None:
    unpaid = [i for i in tiny.rows("SELECT * FROM Invoice") if i["Balance"] == i["TotalAmt"] > 0]
    assert unpaid, "the tiny company needs an unpaid invoice"
    target = unpaid[0]
    tiny.ok("invoice", {"Id": target["Id"], "SyncToken": target["SyncToken"]}, operation="delete")
    customer = tiny.ok("customer", {"DisplayName": "CDC Probe"})
    since = customer["MetaData"]["CreateTime"]
    body = tiny.get("cdc", entities="Invoice,Customer,Bill", changedSince=since).json()
    real = sample("cdc_response_doc_sample_deleted.json")
    assert set(body) == set(real) == {"CDCResponse", "time"}
    responses = body["CDCResponse"][0]["QueryResponse"]
    by_entity = {key: r for r in responses for key in r if key in ("Invoice", "Customer", "Bill")}
    deleted = [o for o in by_entity["Invoice"]["Invoice"] if o.get("status") == "Deleted"]
    real_deleted = real["CDCResponse"][0]["QueryResponse"][1]["Estimate"][2]
    assert deleted and set(deleted[0]) == set(real_deleted)
    assert any(c["Id"] == customer["Id"] for c in by_entity["Customer"]["Customer"])
    assert {"startPosition", "maxResults"} <= set(by_entity["Customer"])


def test_every_fault_envelope_matches_its_recording(tiny: QboHttp, server: RunningSandbox) -> None:
    def same_envelope(response: requests.Response, name: str) -> None:
        real = sample(name)
        ours = response.json()
        assert set(ours) == set(real) or set(ours) == set(real) | {"time"}, name
        fault, real_fault = (ours.get("Fault") or ours["fault"]), (real.get("Fault") or real["fault"])
        assert set(fault) == set(real_fault)
        errors = fault.get("Error") or fault["error"]
        real_errors = real_fault.get("Error") or real_fault["error"]
        assert set(errors[0]) == set(real_errors[0]), name
        assert errors[0]["code"] == real_errors[0]["code"], name

    vendor = tiny.rows("SELECT * FROM Vendor MAXRESULTS 1")[0]
    duplicate = tiny.post("customer", {"DisplayName": vendor["DisplayName"]})
    assert duplicate.status_code == 400
    same_envelope(duplicate, "fault_duplicate_name_6240.json")
    same_envelope(tiny.post("item", {"Type": "Service"}), "fault_required_param_2020.json")
    same_envelope(tiny.post("invoice", {"BadJson": True}), "fault_unsupported_property_2010.json")
    same_envelope(tiny.read("item", "999999"), "fault_object_not_found_610.json")
    item = tiny.rows("SELECT * FROM Item MAXRESULTS 1")[0]
    stale = tiny.post("item", {**item, "SyncToken": str(int(item["SyncToken"]) + 7)})
    same_envelope(stale, "fault_stale_object_5010.json")
    same_envelope(tiny.query("SELECT * FROM Customer WHERE Id = null"), "fault_query_parse_4000.json")
    same_envelope(tiny.query("SELECT * FROM Custmoer"), "fault_invalid_query_4001.json")
    same_envelope(tiny.read("customer", "1.5"), "fault_invalid_id_2030.json")

    expired = requests.get(f"{tiny.base}/customer/1", headers={"Authorization": "Bearer nope"}, timeout=10)
    assert expired.status_code == 401
    assert expired.headers["WWW-Authenticate"] == 'Bearer realm="Intuit", error="invalid_token"'
    assert set(expired.json()) == set(sample("fault_401_authentication_3200.json"))
    same_envelope(expired, "fault_401_authentication_3200.json")

    other = requests.get(f"{server.api_url('424242')}/customer/1", headers=tiny.headers(), timeout=10)
    assert other.status_code == 403
    same_envelope(other, "fault_403_authorization_3100.json")
    assert "intuit_tid" in other.headers


def test_throttle_fault_is_the_xml_body_even_for_json_clients(tiny: QboHttp) -> None:
    tiny.admin("POST", "config", json={"limits": {"enabled": True, "per_minute": 2}})
    statuses = [tiny.read("customer", "1") for _ in range(3)]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    throttled = statuses[-1]
    assert throttled.headers["content-type"].startswith("application/xml")
    ours = ET.fromstring(throttled.content)
    real = ET.parse("tests/fixtures/qbo/fault_429_throttle_3001.xml").getroot()
    ns = "{http://schema.intuit.com/finance/v3}"
    assert ours.tag == real.tag == f"{ns}IntuitResponse"
    assert [(e.tag, dict(e.attrib)) for e in ours.iter()][1:3] == [
        (e.tag, dict(e.attrib)) for e in real.iter()
    ][1:3]
    assert (
        ours.find(f"{ns}Fault/{ns}Error/{ns}Detail").text == real.find(f"{ns}Fault/{ns}Error/{ns}Detail").text
    )
