"""Store internals a client can observe: deep pages served from the position index agree with SQLite,
also right after writes; CDC caps by time so that narrowing the window loses no delete."""

from __future__ import annotations

import time

import pytest

from sandbox import store as store_module
from sandbox.generator import populate
from sandbox.query import parse
from sandbox.rules import WriteRules
from sandbox.store import Realm, Store
from tests.qbo_http import QboHttp, invoice_body


@pytest.fixture
def demo_store() -> tuple[Store, Realm]:
    store = Store()
    realm = Realm("77", "demo", 5, "America/Los_Angeles")
    store.add_realm(realm, time.time())
    populate(store, realm, "demo", 5)
    return store, realm


QUERIES = [
    "SELECT * FROM Invoice ORDERBY MetaData.LastUpdatedTime STARTPOSITION {n} MAXRESULTS 7",
    "SELECT * FROM Invoice STARTPOSITION {n} MAXRESULTS 7",
    "SELECT * FROM Customer ORDERBY MetaData.LastUpdatedTime STARTPOSITION {n} MAXRESULTS 7",
    "SELECT * FROM Invoice WHERE MetaData.LastUpdatedTime >= '2024-06-01T00:00:00Z' "
    "ORDERBY MetaData.LastUpdatedTime STARTPOSITION {n} MAXRESULTS 7",
    "SELECT * FROM Invoice WHERE MetaData.LastUpdatedTime > '2024-06-01T00:00:00Z' "
    "ORDERBY MetaData.LastUpdatedTime STARTPOSITION {n} MAXRESULTS 7",
]


def both_paths(store: Store, realm: Realm, text: str, monkeypatch: pytest.MonkeyPatch) -> tuple[list, list]:
    monkeypatch.setattr(store_module, "POSITION_INDEX_MIN_OFFSET", 0)
    indexed, _ = store.query(realm, parse(text))
    monkeypatch.setattr(store_module, "POSITION_INDEX_MIN_OFFSET", 10**9)
    plain, _ = store.query(realm, parse(text))
    return indexed, plain


@pytest.mark.parametrize("template", QUERIES)
def test_position_index_pages_equal_sqlite_pages_before_and_after_writes(
    demo_store: tuple[Store, Realm], template: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, realm = demo_store
    for n in (2, 55, 590):
        indexed, plain = both_paths(store, realm, template.format(n=n), monkeypatch)
        assert indexed == plain
    books = WriteRules(store)
    invoice = books.read(realm, "Invoice", "10")
    # deactivate a customer the edited invoice does not bill (QBO refuses edits naming an inactive one)
    other = "3" if invoice["CustomerRef"]["value"] != "3" else "4"
    customer = books.read(realm, "Customer", other)
    books.update(
        realm, "Customer", {"Id": other, "SyncToken": customer["SyncToken"], "sparse": True, "Active": False}
    )
    books.update(
        realm,
        "Invoice",
        {
            "Id": "10",
            "SyncToken": invoice["SyncToken"],
            "sparse": True,
            "PrivateNote": "moved to the end of the cursor order",
        },
    )
    for n in (2, 55, 590):
        indexed, plain = both_paths(store, realm, template.format(n=n), monkeypatch)
        assert indexed == plain


def test_cdc_cap_takes_the_earliest_changes_so_a_narrowed_window_misses_no_delete(
    tiny: QboHttp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sandbox.qbo_api.MAX_CDC_OBJECTS", 3)
    started = tiny.ok("customer", {"DisplayName": "CDC window 0"})
    item = tiny.rows("SELECT * FROM Item WHERE Type = 'Service' MAXRESULTS 1")[0]
    invoice = tiny.ok("invoice", invoice_body(started["Id"], item["Id"], 9))
    tiny.ok("invoice", {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"]}, operation="delete")
    for n in range(1, 5):
        if n % 2:
            time.sleep(1.1)  # two changes a second: ties, but fewer than the cap
        tiny.ok("invoice", invoice_body(started["Id"], item["Id"], n))
    seen: dict[str, dict] = {}
    since = started["MetaData"]["CreateTime"]
    for _ in range(10):  # narrow: restart from the last change received until a page is short
        body = tiny.get("cdc", entities="Invoice", changedSince=since).json()
        objects = body["CDCResponse"][0]["QueryResponse"][0].get("Invoice", [])
        seen.update({o["Id"]: o for o in objects})
        if len(objects) < 3:
            break
        since = max(o["MetaData"]["LastUpdatedTime"] for o in objects)
    assert seen[invoice["Id"]].get("status") == "Deleted"
    assert len(seen) == 5
