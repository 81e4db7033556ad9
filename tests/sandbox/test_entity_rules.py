"""The write rules clients depend on (issue: Entity rules), seen through the HTTP API."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from sandbox.clock import format_meta
from tests.qbo_http import QboHttp, fault_code, invoice_body


def test_sync_token_increments_and_stale_token_is_5010_with_nothing_written(tiny: QboHttp) -> None:
    customer = tiny.ok("customer", {"DisplayName": "Token Test"})
    first = tiny.ok("customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Notes": "one"})
    assert first["SyncToken"] == "1" and first["DisplayName"] == "Token Test"  # sparse kept the rest
    stale = tiny.post("customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Notes": "two"})
    assert stale.status_code == 400 and fault_code(stale) == "5010"
    assert tiny.read("customer", customer["Id"]).json()["Customer"]["Notes"] == "one"


def test_sparse_update_that_changes_nothing_keeps_token_and_time(tiny: QboHttp) -> None:
    customer = tiny.ok("customer", {"DisplayName": "No-op"})
    same = tiny.ok(
        "customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "DisplayName": "No-op"}
    )
    assert same["SyncToken"] == "0"
    assert same["MetaData"] == customer["MetaData"]


def test_full_update_clears_omitted_fields_sparse_does_not(tiny: QboHttp) -> None:
    c = tiny.ok("customer", {"DisplayName": "Full", "Notes": "keep?", "CompanyName": "Full Co"})
    full = tiny.ok("customer", {"Id": c["Id"], "SyncToken": c["SyncToken"], "DisplayName": "Full"})
    assert "Notes" not in full and "CompanyName" not in full
    assert full["Balance"] == c["Balance"]  # server-owned fields survive a full update


def test_display_name_unique_across_customer_vendor_employee_case_insensitive(tiny: QboHttp) -> None:
    tiny.ok("vendor", {"DisplayName": "Shared Name LLC"})
    for entity in ("customer", "employee"):
        clash = tiny.post(entity, {"DisplayName": "shared name llc", "GivenName": "A"})
        assert clash.status_code == 400 and fault_code(clash) == "6240"


def test_required_unknown_and_reference_faults(tiny: QboHttp) -> None:
    assert fault_code(tiny.post("customer", {"Notes": "no name at all"})) == "2020"
    assert fault_code(tiny.post("invoice", {"CustomerRef": {"value": "1"}})) == "2020"  # no Line
    bad_line = {"CustomerRef": {"value": "1"}, "Line": [{"Amount": 5}]}
    response = tiny.post("invoice", bad_line)
    assert (
        fault_code(response) == "2020"
        and response.json()["Fault"]["Error"][0]["element"] == "Line.DetailType"
    )
    assert fault_code(tiny.post("customer", {"DisplayName": "X", "Colour": "red"})) == "2010"
    missing_ref = {
        "CustomerRef": {"value": "999999"},
        "Line": [
            {
                "Amount": 5,
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {"ItemRef": {"value": "1"}},
            }
        ],
    }
    assert fault_code(tiny.post("invoice", missing_ref)) == "2500"
    assert fault_code(tiny.read("customer", "999999")) == "610"


def test_reference_to_an_inactive_record_is_610(tiny: QboHttp) -> None:
    customer = tiny.ok("customer", {"DisplayName": "Soon Gone"})
    tiny.ok("customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Active": False})
    item = tiny.rows("SELECT * FROM Item MAXRESULTS 1")[0]
    response = tiny.post("invoice", invoice_body(customer["Id"], item["Id"], 5))
    assert fault_code(response) == "610"


def test_name_list_delete_is_deactivation_with_suffix_and_hidden_from_default_queries(tiny: QboHttp) -> None:
    customer = tiny.ok("customer", {"DisplayName": "Thrifty Meats"})
    gone = tiny.ok("customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Active": False})
    assert gone["DisplayName"] == "Thrifty Meats (deleted)" and gone["Active"] is False
    default = tiny.rows(f"SELECT * FROM Customer WHERE Id = '{customer['Id']}'")
    explicit = tiny.rows(f"SELECT * FROM Customer WHERE Id = '{customer['Id']}' AND Active IN (true, false)")
    assert default == [] and explicit[0]["Active"] is False
    assert (
        tiny.post("customer", {"Id": customer["Id"], "SyncToken": "1"}, operation="delete").status_code == 400
    )
    again = tiny.ok("customer", {"DisplayName": "Thrifty Meats"})  # the name is free again
    assert again["Id"] != customer["Id"]


def test_invoice_arithmetic_discount_tax_and_doc_numbers(tiny: QboHttp) -> None:
    customer = tiny.rows("SELECT * FROM Customer WHERE Taxable = true MAXRESULTS 1")[0]
    item = tiny.rows("SELECT * FROM Item WHERE Type = 'Service' MAXRESULTS 1")[0]
    code = tiny.read("taxcode", "2").json()["TaxCode"]
    rate_id = code["SalesTaxRateList"]["TaxRateDetail"][0]["TaxRateRef"]["value"]
    rate = tiny.read("taxrate", rate_id).json()["TaxRate"]
    invoice = tiny.ok(
        "invoice",
        {
            "CustomerRef": {"value": customer["Id"]},
            "Line": [
                {
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": {
                        "ItemRef": {"value": item["Id"]},
                        "Qty": 3,
                        "UnitPrice": 25.5,
                        "TaxCodeRef": {"value": "TAX"},
                    },
                },
                {
                    "Amount": 40,
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}, "TaxCodeRef": {"value": "NON"}},
                },
                {
                    "DetailType": "DiscountLineDetail",
                    "DiscountLineDetail": {"PercentBased": True, "DiscountPercent": 10},
                },
            ],
            "TxnTaxDetail": {"TxnTaxCodeRef": {"value": "2"}},
        },
    )
    lines = invoice["Line"]
    assert [line["DetailType"] for line in lines] == [
        "SalesItemLineDetail",
        "SalesItemLineDetail",
        "SubTotalLineDetail",
        "DiscountLineDetail",
    ]
    assert lines[0]["Amount"] == 76.5 and lines[2]["Amount"] == 116.5 and lines[3]["Amount"] == 11.65
    tax = round(76.5 * float(rate["RateValue"]) / 100, 2)
    assert invoice["TxnTaxDetail"]["TotalTax"] == tax
    assert invoice["TotalAmt"] == round(116.5 - 11.65 + tax, 2) == invoice["Balance"]
    assert lines[0]["SalesItemLineDetail"]["ItemRef"]["name"] == item["Name"]
    second = tiny.ok("invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [lines[1]]})
    assert int(second["DocNumber"]) == int(invoice["DocNumber"]) + 1
    clash = tiny.post(
        "invoice",
        {"CustomerRef": {"value": customer["Id"]}, "Line": [lines[1]], "DocNumber": invoice["DocNumber"]},
    )
    assert fault_code(clash) == "6140"
    wrong = tiny.post("invoice", invoice_body(customer["Id"], item["Id"], 10, Qty=2, UnitPrice=4))
    assert fault_code(wrong) == "6000"


def test_payments_reduce_balances_link_both_ways_and_refuse_overpayment(tiny: QboHttp) -> None:
    customer = tiny.ok("customer", {"DisplayName": "Payer"})
    item = tiny.rows("SELECT * FROM Item WHERE Type = 'Service' MAXRESULTS 1")[0]

    def invoice(amount: float) -> dict:
        return tiny.ok(
            "invoice",
            {
                "CustomerRef": {"value": customer["Id"]},
                "Line": [
                    {
                        "Amount": amount,
                        "DetailType": "SalesItemLineDetail",
                        "SalesItemLineDetail": {
                            "ItemRef": {"value": item["Id"]},
                            "TaxCodeRef": {"value": "NON"},
                        },
                    }
                ],
            },
        )

    a, b = invoice(100), invoice(50)
    payment = tiny.ok(
        "payment",
        {
            "CustomerRef": {"value": customer["Id"]},
            "TotalAmt": 130,
            "Line": [
                {"Amount": 100, "LinkedTxn": [{"TxnId": a["Id"], "TxnType": "Invoice"}]},
                {"Amount": 20, "LinkedTxn": [{"TxnId": b["Id"], "TxnType": "Invoice"}]},
            ],
        },
    )
    assert payment["UnappliedAmt"] == 10
    a2, b2 = (tiny.read("invoice", x["Id"]).json()["Invoice"] for x in (a, b))
    assert (a2["Balance"], b2["Balance"]) == (0, 30)
    assert {"TxnId": payment["Id"], "TxnType": "Payment"} in a2["LinkedTxn"]
    assert int(a2["SyncToken"]) == int(a["SyncToken"]) + 1
    assert tiny.read("customer", customer["Id"]).json()["Customer"]["Balance"] == 30

    over = tiny.post(
        "payment",
        {
            "CustomerRef": {"value": customer["Id"]},
            "TotalAmt": 31,
            "Line": [{"Amount": 31, "LinkedTxn": [{"TxnId": b["Id"], "TxnType": "Invoice"}]}],
        },
    )
    assert fault_code(over) == "6000"

    voided = tiny.post(
        "payment",
        {"Id": payment["Id"], "SyncToken": payment["SyncToken"], "sparse": True},
        operation="update",
        include="void",
    )
    assert voided.status_code == 200, voided.text
    assert tiny.read("invoice", a["Id"]).json()["Invoice"]["Balance"] == 100
    assert tiny.read("customer", customer["Id"]).json()["Customer"]["Balance"] == 150
    wrong_style = tiny.post("payment", {"Id": payment["Id"], "SyncToken": "1"}, operation="void")
    assert fault_code(wrong_style) == "500"


def test_a_paid_invoice_or_bill_is_not_deleted_until_its_payments_are(tiny: QboHttp) -> None:
    """The sandbox's pick where QBO's API reference is silent (README, undocumented behaviours): the
    delete is fault 6000 and changes nothing; once the payment is gone, the delete goes through."""
    customer = tiny.ok("customer", {"DisplayName": "Paid Then Deleted"})
    item = tiny.rows("SELECT * FROM Item WHERE Type = 'Service' MAXRESULTS 1")[0]
    invoice = tiny.ok("invoice", invoice_body(customer["Id"], item["Id"], 80, TaxCodeRef={"value": "NON"}))
    payment = tiny.ok(
        "payment",
        {
            "CustomerRef": {"value": customer["Id"]},
            "TotalAmt": 30,
            "Line": [{"Amount": 30, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}],
        },
    )
    paid = tiny.read("invoice", invoice["Id"]).json()["Invoice"]
    refused = tiny.post("invoice", {"Id": paid["Id"], "SyncToken": paid["SyncToken"]}, operation="delete")
    assert refused.status_code == 400 and fault_code(refused) == "6000"
    assert "Delete or unapply the payments first" in refused.json()["Fault"]["Error"][0]["Detail"]
    assert tiny.read("invoice", invoice["Id"]).json()["Invoice"] == paid  # nothing written
    tiny.ok("payment", {"Id": payment["Id"], "SyncToken": payment["SyncToken"]}, operation="delete")
    unpaid = tiny.read("invoice", invoice["Id"]).json()["Invoice"]
    assert unpaid["Balance"] == unpaid["TotalAmt"] == 80
    gone = tiny.ok("invoice", {"Id": unpaid["Id"], "SyncToken": unpaid["SyncToken"]}, operation="delete")
    assert gone["status"] == "Deleted"

    bill = next(b for b in tiny.rows("SELECT * FROM Bill MAXRESULTS 1000") if b["Balance"] < b["TotalAmt"])
    refused = tiny.post("bill", {"Id": bill["Id"], "SyncToken": bill["SyncToken"]}, operation="delete")
    assert refused.status_code == 400 and fault_code(refused) == "6000"
    assert tiny.read("bill", bill["Id"]).json()["Bill"]["Balance"] == bill["Balance"]


def test_meta_times_use_the_company_offset_which_follows_daylight_saving() -> None:
    pacific = ZoneInfo("America/Los_Angeles")
    winter = datetime(2024, 1, 15, 12, tzinfo=pacific).timestamp()
    summer = datetime(2024, 7, 15, 12, tzinfo=pacific).timestamp()
    assert format_meta(winter).endswith("-08:00") and format_meta(summer).endswith("-07:00")


def test_meta_times_on_the_wire_are_in_company_offset(tiny: QboHttp) -> None:
    created = tiny.ok("customer", {"DisplayName": "Offset"})
    stamp = datetime.fromisoformat(created["MetaData"]["CreateTime"])
    expected = datetime.now(ZoneInfo("America/Los_Angeles")).utcoffset()
    assert stamp.utcoffset() == expected


def test_request_id_replays_the_first_answer_and_writes_nothing(tiny: QboHttp) -> None:
    before = tiny.query("SELECT COUNT(*) FROM Customer").json()["QueryResponse"]["totalCount"]
    first = tiny.post("customer", {"DisplayName": "Idempotent Ltd"}, requestid="req-0001")
    again = tiny.post("customer", {"DisplayName": "Idempotent Ltd"}, requestid="req-0001")
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    after = tiny.query("SELECT COUNT(*) FROM Customer").json()["QueryResponse"]["totalCount"]
    assert after == before + 1
    different = tiny.post("customer", {"DisplayName": "Idempotent Ltd"}, requestid="req-0002")
    assert fault_code(different) == "6240"  # a new requestid really executes


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_query_filters_order_and_paging(tiny: QboHttp, method: str) -> None:
    rows = tiny.rows("SELECT * FROM Invoice ORDERBY MetaData.LastUpdatedTime MAXRESULTS 1000")
    assert len(rows) >= 5
    times = [datetime.fromisoformat(r["MetaData"]["LastUpdatedTime"]) for r in rows]
    assert times == sorted(times)
    pivot = rows[len(rows) // 2]["MetaData"]["LastUpdatedTime"]
    later = tiny.query(
        f"SELECT * FROM Invoice WHERE MetaData.LastUpdatedTime >= '{pivot}' "
        f"ORDER BY MetaData.LastUpdatedTime",
        method,
    ).json()["QueryResponse"]["Invoice"]
    assert {r["Id"] for r in later} == {
        r["Id"]
        for r in rows
        if datetime.fromisoformat(r["MetaData"]["LastUpdatedTime"]) >= datetime.fromisoformat(pivot)
    }
    page1 = tiny.rows("SELECT * FROM Invoice ORDERBY Id MAXRESULTS 2 STARTPOSITION 1")
    page2 = tiny.rows("SELECT * FROM Invoice ORDERBY Id MAXRESULTS 2 STARTPOSITION 3")
    assert [r["Id"] for r in page1 + page2] == [r["Id"] for r in sorted(rows, key=lambda r: int(r["Id"]))[:4]]
    big = tiny.rows("SELECT * FROM Invoice WHERE TotalAmt > '100' ORDERBY TotalAmt DESC")
    assert all(r["TotalAmt"] > 100 for r in big)
    assert [r["TotalAmt"] for r in big] == sorted((r["TotalAmt"] for r in big), reverse=True)
    customer_id = rows[0]["CustomerRef"]["value"]
    mine = tiny.rows(f"SELECT * FROM Invoice WHERE CustomerRef = '{customer_id}'")
    assert mine and all(r["CustomerRef"]["value"] == customer_id for r in mine)
    name = tiny.rows("SELECT * FROM Customer MAXRESULTS 1")[0]["DisplayName"]
    like = tiny.rows(f"SELECT * FROM Customer WHERE DisplayName LIKE '{name[:3]}%'")
    assert any(r["DisplayName"] == name for r in like)


def test_utc_cursor_literals_compare_as_instants_not_strings(tiny: QboHttp) -> None:
    created = tiny.ok("customer", {"DisplayName": "Instant"})
    local = datetime.fromisoformat(created["MetaData"]["LastUpdatedTime"])
    as_utc = local.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")
    rows = tiny.rows(f"SELECT * FROM Customer WHERE MetaData.LastUpdatedTime >= '{as_utc}'")
    assert created["Id"] in {r["Id"] for r in rows}
    rows_after = tiny.rows(f"SELECT * FROM Customer WHERE MetaData.LastUpdatedTime > '{as_utc}'")
    assert created["Id"] not in {r["Id"] for r in rows_after}


def test_admin_mutations_bump_token_and_merge_moves_references(tiny: QboHttp) -> None:
    invoices = tiny.rows("SELECT * FROM Invoice MAXRESULTS 1000")
    source_id = invoices[0]["CustomerRef"]["value"]
    target = tiny.ok("customer", {"DisplayName": "Merge Target"})
    before = tiny.read("customer", source_id).json()["Customer"]
    edited = tiny.admin(
        "POST",
        f"realms/{tiny.realm_id}/mutate",
        json={"entity": "Customer", "id": source_id, "op": "update", "changes": {"Notes": "hi"}},
    )
    assert edited.status_code == 200
    assert edited.json()["Customer"]["SyncToken"] == str(int(before["SyncToken"]) + 1)
    merged = tiny.admin(
        "POST",
        f"realms/{tiny.realm_id}/mutate",
        json={"entity": "Customer", "id": source_id, "op": "merge", "merge_into": target["Id"]},
    )
    assert merged.status_code == 200, merged.text
    assert fault_code(tiny.read("customer", source_id)) == "610"
    moved = tiny.rows(f"SELECT * FROM Invoice WHERE CustomerRef = '{target['Id']}'")
    assert {r["Id"] for r in moved} >= {r["Id"] for r in invoices if r["CustomerRef"]["value"] == source_id}
    stats = tiny.admin("GET", f"realms/{tiny.realm_id}/stats").json()
    assert stats["entities"]["Customer"]["deleted"] >= 1
    assert stats["requests"]["POST customer"] >= 1
