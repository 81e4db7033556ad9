"""The /_sandbox/ admin API that tests and tools drive the sandbox with."""

from __future__ import annotations

from tests.conftest import sample
from tests.qbo_http import QboHttp, fault_code


def test_import_real_payloads_in_all_three_document_shapes(empty: QboHttp) -> None:
    loaded = empty.admin(
        "POST", f"realms/{empty.realm_id}/entities", json=sample("query_response_invoice.json")
    )
    assert loaded.status_code == 200, loaded.text
    invoices = sample("query_response_invoice.json")["QueryResponse"]["Invoice"]
    assert loaded.json()["loaded"]["Invoice"] == [i["Id"] for i in invoices]
    single = empty.admin("POST", f"realms/{empty.realm_id}/entities", json=sample("item_inventory_read.json"))
    assert single.json()["loaded"] == {"Item": ["11"]}
    listed = empty.admin(
        "POST",
        f"realms/{empty.realm_id}/entities",
        json=[{"Vendor": {"DisplayName": "Listed Vendor"}}, {"Term": [{"Name": "Net 99"}]}],
    )
    assert set(listed.json()["loaded"]) == {"Vendor", "Term"}

    stored = {i["Id"]: i for i in empty.rows("SELECT * FROM Invoice MAXRESULTS 1000")}
    assert stored["130"] == next(i for i in invoices if i["Id"] == "130")  # stored exactly as given
    assert empty.read("item", "11").json()["Item"]["QtyOnHand"] == 25
    vendor = empty.rows("SELECT * FROM Vendor WHERE DisplayName = 'Listed Vendor'")[0]
    assert vendor["SyncToken"] == "0" and vendor["MetaData"]["CreateTime"]  # missing server fields filled
    bad = empty.admin("POST", f"realms/{empty.realm_id}/entities", json={"Nothing": 1})
    assert bad.status_code == 422


def test_realm_lifecycle_and_unknown_realm(empty: QboHttp) -> None:
    realms = empty.admin("GET", "realms").json()
    assert [r["realm_id"] for r in realms] == [empty.realm_id]
    again = empty.admin("POST", "realms", json={"realm_id": empty.realm_id, "company": "empty"})
    assert again.status_code == 409
    wrong = empty.admin("POST", "realms", json={"company": "galactic"})
    assert wrong.status_code == 422 and "company" in wrong.text
    assert empty.admin("GET", "realms/777/stats").status_code == 404
    generated = empty.admin("POST", "realms", json={"company": "empty"}).json()
    assert generated["realm_id"].isdigit() and generated["entities"]["CompanyInfo"] == 1
    assert empty.admin("POST", "reset").status_code == 200
    assert empty.admin("GET", "realms").json() == []


def test_singletons_read_and_update_with_sync_token(empty: QboHttp) -> None:
    info = empty.get(f"companyinfo/{empty.realm_id}").json()["CompanyInfo"]
    assert info["Id"] == "1" and info["CompanyName"]
    prefs = empty.get("preferences").json()["Preferences"]
    changed = empty.ok(
        "preferences",
        {
            "Id": prefs["Id"],
            "SyncToken": prefs["SyncToken"],
            "sparse": True,
            "OtherPrefs": {"NameValue": [{"Name": "x", "Value": "y"}]},
        },
    )
    assert changed["SyncToken"] == str(int(prefs["SyncToken"]) + 1)
    stale = empty.post("preferences", {"Id": prefs["Id"], "SyncToken": prefs["SyncToken"], "sparse": True})
    assert fault_code(stale) == "5010"
    assert fault_code(empty.post("companyinfo", {"CompanyName": "New"})) == "2020"  # an update needs its Id


def test_mutations_refuse_what_qbo_refuses_and_name_what_to_do(tiny: QboHttp) -> None:
    customer = tiny.rows("SELECT * FROM Customer MAXRESULTS 1")[0]
    hard_delete = tiny.admin(
        "POST",
        f"realms/{tiny.realm_id}/mutate",
        json={"entity": "Customer", "id": customer["Id"], "op": "delete"},
    )
    assert hard_delete.status_code == 400 and "inactive" in hard_delete.text
    no_target = tiny.admin(
        "POST",
        f"realms/{tiny.realm_id}/mutate",
        json={"entity": "Customer", "id": customer["Id"], "op": "merge"},
    )
    assert no_target.status_code == 422 and "merge_into" in no_target.text
    deactivated = tiny.admin(
        "POST",
        f"realms/{tiny.realm_id}/mutate",
        json={"entity": "Customer", "id": customer["Id"], "op": "deactivate"},
    )
    assert deactivated.json()["Customer"]["DisplayName"].endswith(" (deleted)")
    stats = tiny.admin("GET", f"realms/{tiny.realm_id}/stats").json()["entities"]["Customer"]
    assert stats["inactive"] >= 1
