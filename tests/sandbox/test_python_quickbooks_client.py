"""Proof by a real third-party client: python-quickbooks + intuit-oauth against the sandbox."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests
from intuitlib.client import AuthClient
from intuitlib.enums import Scopes
from quickbooks import QuickBooks
from quickbooks.batch import batch_create
from quickbooks.cdc import change_data_capture
from quickbooks.exceptions import QuickbooksException
from quickbooks.objects.customer import Customer
from quickbooks.objects.invoice import Invoice

from sandbox.background import RunningSandbox


@pytest.fixture
def qb(server: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> QuickBooks:
    monkeypatch.setenv(
        "OAUTHLIB_INSECURE_TRANSPORT", "1"
    )  # requests-oauthlib insists on https; this is loopback
    created = requests.post(
        f"{server.base_url}/_sandbox/realms",
        json={"realm_id": "5005", "company": "tiny", "seed": 3},
        timeout=60,
    )
    assert created.status_code == 201
    auth = AuthClient(
        server.client_id, server.client_secret, "http://127.0.0.1/callback", environment=server.discovery_url
    )
    url = auth.get_authorization_url([Scopes.ACCOUNTING])
    redirect = requests.get(url, allow_redirects=False, timeout=10).headers["location"]
    answer = parse_qs(urlsplit(redirect).query)
    assert answer["state"] == [auth.state_token]
    auth.get_bearer_token(answer["code"][0], realm_id=answer["realmId"][0])
    assert auth.access_token and auth.refresh_token
    client = QuickBooks(
        auth_client=auth, refresh_token=auth.refresh_token, company_id=answer["realmId"][0], minorversion=75
    )
    client.api_url_v3 = f"{server.base_url}/v3"  # the library hard-codes Intuit's hosts
    return client


def test_queries_with_paging_create_and_sparse_update(qb: QuickBooks) -> None:
    total = Customer.count(qb=qb)
    assert total >= 3
    pages = [Customer.filter(start_position=start, max_results=2, qb=qb) for start in range(1, total + 1, 2)]
    ids = [c.Id for page in pages for c in page]
    assert len(ids) == len(set(ids)) == total

    customer = Customer()
    customer.DisplayName = "Client Library Co"
    customer.GivenName = "Lib"
    saved = customer.save(qb=qb)
    assert saved.Id and saved.SyncToken == "0"

    fetched = Customer.get(saved.Id, qb=qb)
    fetched.sparse = True
    fetched.Notes = "updated sparsely"
    updated = fetched.save(qb=qb)
    assert updated.SyncToken == "1" and updated.Notes == "updated sparsely"
    assert updated.DisplayName == "Client Library Co"  # untouched fields kept


def test_batch_and_cdc(qb: QuickBooks) -> None:
    fresh = []
    for n in range(3):
        c = Customer()
        c.DisplayName = f"Batch Customer {n}"
        fresh.append(c)
    result = batch_create(fresh, qb=qb)
    assert len(result.successes) == 3 and not result.faults

    # the library sends a naive wall-clock time; QBO reads it in the company's zone
    since = datetime.now(ZoneInfo("America/Los_Angeles")) - timedelta(minutes=5)
    cdc = change_data_capture([Customer, Invoice], since, qb=qb)
    names = {c.DisplayName for c in cdc.Customer}
    assert {"Batch Customer 0", "Batch Customer 1", "Batch Customer 2"} <= names


def test_stale_sync_token_surfaces_as_its_own_fault(qb: QuickBooks) -> None:
    customer = Customer.filter(max_results=1, qb=qb)[0]
    customer.Notes = "first writer"
    customer.save(qb=qb)
    customer.Notes = "second writer with the old token"
    customer.SyncToken = str(int(customer.SyncToken) - 1)
    with pytest.raises(QuickbooksException) as caught:
        customer.save(qb=qb)
    assert caught.value.error_code == 5010
    assert "Stale Object Error" in caught.value.message
