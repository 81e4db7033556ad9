"""The finance review console (`/review/`): sign-in, CSRF, tenant isolation, the queues' filters, decisions
recorded with who and why, stale decisions refused with what changed, withdrawal, bulk actions, the
integration error dashboard and the AI drafts — over a store filled the way the transform fills it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

from pipelines.runtime.connector import Connector
from pipelines.runtime.settings import Settings
from service.app import create_app
from service.review.auth import SESSION_COOKIE, Signer
from sources.quickbooks.errors import QboError

KEY_A = "review-key-tenant-a-0123456789"
KEY_B = "review-key-tenant-b-0123456789"
KEY_ALL = "review-key-every-tenant-012345"
REALM_A, REALM_B = "9130350000000001", "9130350000000002"
NOW = datetime.now(UTC)


def item(
    queue: str, tenant: str, entity: str, platform_id: str | None, qbo_id: str | None, **kw: Any
) -> dict:
    """One review entry as the transform publishes it."""
    return {
        "queue": queue,
        "tenant_id": tenant,
        "realm_id": REALM_A if tenant == "tenant-a" else REALM_B,
        "entity": entity,
        "platform_id": platform_id,
        "qbo_id": qbo_id,
        "field": kw.get("field"),
        "action": kw.get("action"),
        "label": kw.get("label"),
        "party": kw.get("party"),
        "amount": kw.get("amount"),
        "currency": kw.get("currency", "USD"),
        "changed_at": kw.get("changed_at", NOW - timedelta(days=1)),
        "platform_value": kw.get("platform_value"),
        "qbo_value": kw.get("qbo_value"),
        "version": kw.get("version", "v1"),
        "data": kw.get("data", {}),
    }


INVOICE_1042 = {"label": "Invoice 1042", "party": "Cedar & Pine Landscaping", "amount": Decimal("1234.50")}


def items(due_qbo: str = "2025-03-31", due_version: str = "v-due-1") -> list[dict[str, Any]]:
    rows = [
        item("conflict", "tenant-a", "Invoice", "inv_001042", "148", field="due_date", action="review",
             platform_value="2025-03-15", qbo_value=due_qbo, version=due_version, **INVOICE_1042),
        item("conflict", "tenant-a", "Invoice", "inv_001042", "148", field="memo", action="review",
             platform_value="Spring clean-up", qbo_value="Spring clean-up (revised)", version="v-memo-1",
             **INVOICE_1042),
        item("candidate", "tenant-a", "Customer", "cus_0007", "58", field=None, action="confirm",
             label="Harbor Bakery", party="Harbor Bakery", amount=None, data={"score": 0.92,
             "matched_on": "email, phone"}, version="v-cand-1"),
        item("approval", "tenant-a", "Invoice", "inv_001017", "131", field="void", action="void",
             label="Invoice 1017", party="Blue Heron Cafe", amount=Decimal("880.00"), version="v-void-1"),
        item("approval", "tenant-a", "Invoice", "inv_001018", "132", field="void", action="void",
             label="Invoice 1018", party="Blue Heron Cafe", amount=Decimal("95.25"), version="v-void-2"),
        item("issue", "tenant-a", "Bill", "bil_000035", "48", field="unlinked_reference",
             action="unlinked_reference", label="Bill B-2207", party="Granite Supply",
             amount=Decimal("412.00"),
             platform_value="references not in QBO yet: vendor ven_0009", version="v-iss-1",
             data={"what_to_do": "Push (or link) the referenced records first; this one follows"}),
        item("conflict", "tenant-b", "Invoice", "inv_002001", "301", field="due_date", action="review",
             label="Invoice 2001", party="Northwind Secret Client", amount=Decimal("9999.00"),
             platform_value="2025-05-01", qbo_value="2025-05-15", version="v-b-1"),
    ]  # fmt: skip
    for n in range(1, 61):  # a page and a bit of drift: customers' e-mails the platform masters
        rows.append(
            item("drift", "tenant-a", "Customer", f"cus_{n:04d}", str(1000 + n), field="email", action="push",
                 label=f"Customer {n:02d} Ltd", party=f"Customer {n:02d} Ltd", amount=Decimal(n * 10),
                 platform_value=f"ap{n}@example.com", qbo_value=f"billing{n}@example.com",
                 changed_at=NOW - timedelta(days=n), version=f"v-drift-{n}")
        )  # fmt: skip
    return rows


RECORDS = [
    {
        "tenant_id": "tenant-a",
        "entity": "Invoice",
        "platform_id": "inv_001042",
        "qbo_id": "148",
        "realm_id": REALM_A,
        "label": "Invoice 1042",
        "detail": {
            "fields": [
                {"field": "customer", "platform": "Cedar & Pine Landscaping",
                 "qbo": "Cedar & Pine Landscaping", "differs": False},
                {"field": "due_date", "platform": "2025-03-15", "qbo": "2025-03-31", "differs": True},
                {"field": "memo", "platform": "Spring clean-up", "qbo": "Spring clean-up (revised)",
                 "differs": True},
                {"field": "total_amount", "platform": "1234.50", "qbo": "1234.50", "differs": False},
            ],
            "lines": {
                "columns": ["line", "item", "description", "quantity", "unit_price", "amount"],
                "platform": [[1, "Mulch", "Cedar mulch", "2.000000", "120.000000", "240.00"],
                             [2, "Planter", "Cedar planter box", "1", "994.50", "994.50"]],
                "qbo": [[1, "Mulch", "Cedar mulch", "2", "120", "240.00"],
                        [2, "Planter", "Cedar planter box (large)", "1", "994.50", "994.50"]],
            },
        },
    }
]  # fmt: skip


@dataclass
class Console:
    client: TestClient
    connector: Connector

    @property
    def review(self) -> Any:
        return self.connector.store.review

    def publish(self, rows: list[dict[str, Any]] | None = None) -> None:
        self.review.publish(items() if rows is None else rows, RECORDS)


def settings_for(tmp_path: Path) -> Settings:
    return Settings(
        store_url=f"sqlite:///{tmp_path / 'integration.sqlite'}",
        webhook_verifier_token="verifier",
        gateway_api_keys={
            KEY_A: frozenset({"tenant-a"}),
            KEY_B: frozenset({"tenant-b"}),
            KEY_ALL: frozenset({"*"}),
        },
        warehouse=tmp_path / "warehouse.duckdb",
        token_encryption_keys=(Fernet.generate_key().decode(),),
    )


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    connector = Connector(settings_for(tmp_path))
    with TestClient(create_app(connector), follow_redirects=False) as client:
        found = Console(client, connector)
        found.publish()
        yield found


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no CSRF field on the page"
    return found.group(1)


def sign_in(client: TestClient, key: str = KEY_A, name: str = "Ana Lima") -> str:
    """Signs in; returns the session's CSRF token (from the overview's sign-out form)."""
    form = client.get("/review/sign-in")
    answer = client.post(
        "/review/sign-in", data={"csrf": csrf_of(form.text), "name": name, "api_key": key, "next": "/review/"}
    )
    assert answer.status_code == 303, answer.text
    return csrf_of(client.get("/review/").text)


def decide_form(entry: dict[str, Any], csrf: str, **extra: str) -> dict[str, str]:
    """What the record page's decision form posts for an entry."""
    form = {
        "csrf": csrf,
        "queue": entry["queue"],
        "tenant": entry["tenant_id"],
        "entity": entry["entity"],
        "platform_id": entry["platform_id"] or "",
        "qbo_id": entry["qbo_id"] or "",
        "field": entry["field"] or "",
        "seen_version": entry["version"],
        "back": "/review/",
    }
    for key in ("platform_value", "qbo_value"):
        if entry[key] is not None:
            form[f"seen_{key}"] = entry[key]
    return form | extra


def entry_of(console: Console, queue: str, platform_id: str, field: str | None = None) -> dict[str, Any]:
    rows, _ = console.review.entries(None, queue, search=platform_id, page_size=200)
    return next(r for r in rows if r["platform_id"] == platform_id and (field is None or r["field"] == field))


def rows_of(page: str) -> list[str]:
    """The platform ids of a queue table's rows, in order."""
    return re.findall(r'<tr data-platform-id="([^"]*)"', page)


# -- sign-in and sessions ---------------------------------------------------------------------------
def test_a_page_without_a_session_goes_to_sign_in_and_back(console: Console) -> None:
    answer = console.client.get("/review/queue/conflict?entity=Invoice")
    assert answer.status_code == 303
    assert (
        answer.headers["location"] == "/review/sign-in?next=%2Freview%2Fqueue%2Fconflict%3Fentity%3DInvoice"
    )
    form = console.client.get(answer.headers["location"])
    assert 'name="next" value="/review/queue/conflict?entity=Invoice"' in form.text
    signed = console.client.post(
        "/review/sign-in",
        data={"csrf": csrf_of(form.text), "name": "Ana Lima", "api_key": KEY_A,
              "next": "/review/queue/conflict?entity=Invoice"},
    )  # fmt: skip
    assert signed.status_code == 303
    assert signed.headers["location"] == "/review/queue/conflict?entity=Invoice"
    cookie = signed.headers["set-cookie"]
    assert f"{SESSION_COOKIE}=" in cookie and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert "Path=/review" in cookie and "Max-Age=28800" in cookie
    page = console.client.get("/review/queue/conflict?entity=Invoice")
    assert page.status_code == 200 and "Ana Lima" in page.text and "Invoice 1042" in page.text


def test_sign_in_needs_a_valid_key_a_name_and_its_own_form(console: Console) -> None:
    token = csrf_of(console.client.get("/review/sign-in").text)
    wrong = console.client.post("/review/sign-in", data={"csrf": token, "name": "Ana", "api_key": "nope"})
    assert wrong.status_code == 401 and "That API key is not valid." in wrong.text
    token = csrf_of(wrong.text)
    nameless = console.client.post("/review/sign-in", data={"csrf": token, "name": "  ", "api_key": KEY_A})
    assert nameless.status_code == 401 and "Enter your name" in nameless.text
    assert SESSION_COOKIE not in console.client.cookies
    forged = console.client.post("/review/sign-in", data={"csrf": "forged", "name": "Ana", "api_key": KEY_A})
    assert forged.status_code == 403
    assert console.client.get("/review/").status_code == 303  # still signed out
    open_redirect = console.client.post(
        "/review/sign-in",
        data={"csrf": csrf_of(console.client.get("/review/sign-in").text), "name": "Ana", "api_key": KEY_A,
              "next": "https://evil.example/"},
    )  # fmt: skip
    assert open_redirect.headers["location"] == "/review/"


def test_a_tampered_or_expired_session_is_no_session(console: Console) -> None:
    sign_in(console.client)
    cookie = console.client.cookies[SESSION_COOKIE]
    payload, mac = cookie.split(".")
    console.client.cookies.clear()
    console.client.cookies.set(SESSION_COOKIE, payload + "A." + mac)
    assert console.client.get("/review/").status_code == 303
    signer = Signer(b"k" * 32)
    token = signer.sign({"r": "x"}, ttl=60, now=1_000)
    assert signer.unsign(token, now=1_030) == {"r": "x", "exp": 1_060}
    assert signer.unsign(token, now=1_061) is None
    assert Signer(b"other" * 8).unsign(token, now=1_030) is None


def test_a_form_without_the_csrf_token_is_refused(console: Console) -> None:
    csrf = sign_in(console.client)
    entry = entry_of(console, "conflict", "inv_001042", "due_date")
    form = decide_form(entry, csrf, kind="resolve", choice="platform")
    for bad in ("", "not-the-token"):
        answer = console.client.post("/review/decide", data={**form, "csrf": bad})
        assert answer.status_code == 403 and "security token" in answer.text
    answer = console.client.post("/review/decide", data={k: v for k, v in form.items() if k != "csrf"})
    assert answer.status_code == 403
    assert console.client.post("/review/sign-out", data={}).status_code == 403
    assert console.review.decisions() == []


# -- tenants ----------------------------------------------------------------------------------------
def test_a_reviewer_of_tenant_a_neither_sees_nor_acts_on_tenant_b(console: Console) -> None:
    csrf = sign_in(console.client, KEY_A)
    overview = console.client.get("/review/").text
    assert "tenant-a" in overview and "tenant-b" not in overview
    assert "Northwind" not in console.client.get("/review/queue/conflict").text
    assert "Northwind" not in console.client.get("/review/queue/conflict?tenant=tenant-b").text
    assert rows_of(console.client.get("/review/queue/conflict?q=Northwind").text) == []
    assert console.client.get("/review/record/tenant-b/Invoice/inv_002001/301").status_code == 404
    theirs = entry_of(console, "conflict", "inv_002001")
    answer = console.client.post(
        "/review/decide", data=decide_form(theirs, csrf, kind="resolve", choice="qbo")
    )
    assert answer.status_code == 403
    bulk = console.client.get("/review/queue/conflict/bulk?kind=resolve&choice=qbo&tenant=tenant-b")
    assert bulk.status_code == 404  # nothing of theirs matches
    assert console.review.decisions() == []
    # a decision on tenant B's entry, by B's reviewer, cannot be withdrawn by A's
    other = TestClient(console.client.app, follow_redirects=False)
    b_csrf = sign_in(other, KEY_B, "Bo Chen")
    assert other.post(
        "/review/decide", data=decide_form(theirs, b_csrf, kind="resolve", choice="qbo")
    ).is_redirect
    decision = console.review.decisions()[0]
    answer = console.client.post("/review/revoke", data={"csrf": csrf, "decision_id": str(decision["id"])})
    assert answer.status_code == 404
    assert console.review.decisions()[0]["revoked_at"] is None


# -- the queues -------------------------------------------------------------------------------------
def test_the_overview_counts_each_queue_and_the_money_at_stake(console: Console) -> None:
    sign_in(console.client, KEY_ALL, "Ops")
    page = console.client.get("/review/").text
    assert 'data-tenant="tenant-a"' in page and 'data-tenant="tenant-b"' in page
    assert "1 record · $1,234.50 at stake" in page  # Invoice 1042 once, for its two fields
    assert "$975.25 at stake" in page  # the two voids
    assert "$18,300.00 at stake" in page  # drift: 10 + 20 + ... + 600
    assert re.search(r'data-queue="drift"><b>60</b>', page)
    assert re.search(r'data-queue="conflict"><b>3</b>', page)


def test_the_overview_shows_the_trend_since_the_last_runs(console: Console) -> None:
    fewer = [row for row in items() if not (row["queue"] == "drift" and row["platform_id"].endswith("7"))]
    removed = len(items()) - len(fewer)
    console.publish(fewer)  # the next transform: some drift was pushed
    sign_in(console.client, KEY_ALL, "Ops")
    page = console.client.get("/review/").text
    assert "Since the last runs" in page
    assert f"({-removed:+d})" in page


def test_a_queue_pages_filters_searches_and_sorts(console: Console) -> None:
    sign_in(console.client)
    first = console.client.get("/review/queue/drift")
    assert first.status_code == 200
    assert rows_of(first.text)[:2] == ["cus_0001", "cus_0002"]  # the latest change first
    assert len(rows_of(first.text)) == 50 and "1–50 of 60" in first.text and "page 1 of 2" in first.text
    second = console.client.get("/review/queue/drift?page=2")
    assert len(rows_of(second.text)) == 10 and "51–60 of 60" in second.text
    assert first.text.count("The platform owns these fields") == 1  # said once, not per row
    by_amount = console.client.get("/review/queue/drift?sort=amount&dir=asc").text
    assert rows_of(by_amount)[0] == "cus_0001" and "$10.00" in by_amount
    by_amount_desc = console.client.get("/review/queue/drift?sort=amount&dir=desc").text
    assert rows_of(by_amount_desc)[0] == "cus_0060" and "$600.00" in by_amount_desc
    assert rows_of(console.client.get("/review/queue/drift?q=customer+07").text) == ["cus_0007"]
    assert rows_of(console.client.get("/review/queue/drift?q=cus_0042").text) == ["cus_0042"]
    rich = rows_of(console.client.get("/review/queue/drift?min=550").text)
    assert sorted(rich) == [f"cus_{n:04d}" for n in range(55, 61)]
    old = rows_of(console.client.get("/review/queue/drift?older=58").text)
    assert sorted(old) == ["cus_0058", "cus_0059", "cus_0060"]
    assert rows_of(console.client.get("/review/queue/drift?entity=Invoice").text) == []
    assert rows_of(console.client.get(f"/review/queue/drift?realm={REALM_A}&action=push&older=59").text) == [
        "cus_0059", "cus_0060"]  # fmt: skip
    lenient = console.client.get("/review/queue/drift?older=lots&min=abc")
    assert lenient.status_code == 200 and "was ignored" in lenient.text and len(rows_of(lenient.text)) == 50
    conflicts = console.client.get("/review/queue/conflict?entity=Invoice").text
    assert "$1,234.50" in conflicts and "Cedar &amp; Pine Landscaping" in conflicts
    assert console.client.get("/review/queue/nonsense").status_code == 404


# -- decisions --------------------------------------------------------------------------------------
def test_a_decision_is_recorded_with_the_reviewer_and_the_reason(console: Console) -> None:
    csrf = sign_in(console.client)
    record = console.client.get("/review/record/tenant-a/Invoice/inv_001042/148")
    assert record.status_code == 200
    page = record.text
    assert "Invoice 1042" in page and "$1,234.50" in page and "2 of 4 fields differ" in page
    assert page.count('class="changed"') == 2  # line 2's description, on each side (2.000000 is 2)
    assert "<td>2.00</td><td>120.00</td><td>240.00</td>" in page
    assert csrf_of(page) == csrf
    entry = entry_of(console, "conflict", "inv_001042", "due_date")
    answer = console.client.post(
        "/review/decide",
        data=decide_form(entry, csrf, kind="resolve", choice="platform", reason="customer agreed 15 March",
                         back="/review/record/tenant-a/Invoice/inv_001042/148"),
    )  # fmt: skip
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/review/record/tenant-a/Invoice/inv_001042/148?decided=")
    (decision,) = console.review.decisions()
    assert decision["reviewer"] == "Ana Lima" and decision["reason"] == "customer agreed 15 March"
    assert (
        decision["kind"] == "resolve" and decision["choice"] == "platform" and decision["field"] == "due_date"
    )
    assert (decision["platform_value"], decision["qbo_value"]) == ("2025-03-15", "2025-03-31")
    after = console.client.get(answer.headers["location"]).text
    assert f"Decision #{decision['id']} recorded" in after and "standing" in after and "Withdraw" in after
    assert "keep the platform&#39;s value · Ana Lima" in after
    queue = console.client.get("/review/queue/conflict").text
    assert 'class="decided"' in queue


def test_a_candidate_is_confirmed_a_void_approved_and_an_issue_acknowledged(console: Console) -> None:
    csrf = sign_in(console.client)
    for queue, platform_id, kind in (
        ("candidate", "cus_0007", "confirm"),
        ("approval", "inv_001017", "approve"),
        ("issue", "bil_000035", "acknowledge"),
    ):
        entry = entry_of(console, queue, platform_id)
        answer = console.client.post("/review/decide", data=decide_form(entry, csrf, kind=kind))
        assert answer.status_code == 303, answer.text
    kinds = {(d["platform_id"], d["kind"], d["field"]) for d in console.review.decisions()}
    assert kinds == {("cus_0007", "confirm", None), ("inv_001017", "approve", "void"),
                     ("bil_000035", "acknowledge", "unlinked_reference")}  # fmt: skip
    wrong = console.client.post("/review/decide", data=decide_form(entry_of(console, "issue", "bil_000035"),
                                                                   csrf, kind="approve"))  # fmt: skip
    assert wrong.status_code == 400 and "issue entries take acknowledge" in wrong.text


def test_a_decision_on_a_stale_view_is_refused_with_what_changed(console: Console) -> None:
    csrf = sign_in(console.client)
    seen = entry_of(console, "conflict", "inv_001042", "due_date")
    console.publish(items(due_qbo="2025-04-30", due_version="v-due-2"))  # QBO changed it again meanwhile
    answer = console.client.post(
        "/review/decide",
        data=decide_form(seen, csrf, kind="resolve", choice="platform",
                         back="/review/record/tenant-a/Invoice/inv_001042/148"),
    )  # fmt: skip
    assert answer.status_code == 409
    assert "the record changed" in answer.text
    assert "QBO&#39;s value is now &#39;2025-04-30&#39; (you saw &#39;2025-03-31&#39;)" in answer.text
    assert 'href="/review/record/tenant-a/Invoice/inv_001042/148"' in answer.text
    assert console.review.decisions() == []


def test_a_standing_decision_can_be_withdrawn_and_the_history_stays(console: Console) -> None:
    csrf = sign_in(console.client)
    entry = entry_of(console, "approval", "inv_001018")
    console.client.post("/review/decide", data=decide_form(entry, csrf, kind="approve"))
    (decision,) = console.review.decisions()
    url = "/review/record/tenant-a/Invoice/inv_001018/132"
    answer = console.client.post("/review/revoke", data={"csrf": csrf, "decision_id": str(decision["id"]),
                                                         "back": url})  # fmt: skip
    assert answer.status_code == 303 and answer.headers["location"] == f"{url}?withdrawn={decision['id']}"
    (withdrawn,) = console.review.decisions()
    assert withdrawn["revoked_by"] == "Ana Lima" and withdrawn["revoked_at"] is not None
    page = console.client.get(answer.headers["location"]).text
    assert "withdrawn (Ana Lima)" in page and "Withdraw</button>" not in page
    again = console.client.post("/review/revoke", data={"csrf": csrf, "decision_id": str(decision["id"])})
    assert again.status_code == 409 and "withdrawn already" in again.text


def test_a_bulk_action_confirms_then_decides_the_whole_filtered_queue(console: Console) -> None:
    csrf = sign_in(console.client)
    queue = console.client.get("/review/queue/approval?action=void").text
    assert "Approve all 2 voids shown" in queue
    link = re.search(r'href="(/review/queue/approval/bulk\?[^"]+kind=approve[^"]*)"', queue)
    assert link
    confirm = console.client.get(link.group(1).replace("&amp;", "&"))
    assert confirm.status_code == 200 and "Confirm: Approve all 2 voids shown" in confirm.text
    assert "Invoice 1017" in confirm.text and "$880.00" in confirm.text
    assert console.review.decisions() == []  # nothing happens before the confirmation
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', confirm.text))
    assert hidden["csrf"] == csrf and hidden["action"] == "void" and hidden["kind"] == "approve"
    stale = console.client.post("/review/queue/approval/bulk", data={**hidden, "digest": "0" * 32})
    assert stale.status_code == 409 and "changed since you confirmed" in stale.text
    done = console.client.post("/review/queue/approval/bulk", data={**hidden, "reason": "month-end"})
    assert done.status_code == 303 and "done=2" in done.headers["location"]
    decisions = console.review.decisions()
    assert {d["platform_id"] for d in decisions} == {"inv_001017", "inv_001018"}
    assert {(d["kind"], d["reviewer"], d["reason"]) for d in decisions} == {
        ("approve", "Ana Lima", "month-end")
    }
    assert "Recorded 2 decisions" in console.client.get(done.headers["location"]).text


# -- the operator's pages ---------------------------------------------------------------------------
def test_the_integration_errors_are_grouped_with_intuit_tid_and_times(console: Console) -> None:
    errors = console.connector.store.errors
    for tid in ("1-aa", "1-bb", "1-cc"):
        fault = QboError("6240", "Duplicate Name Exists Error", "The name supplied already exists.",
                         element="DisplayName", status=400, intuit_tid=tid)  # fmt: skip
        errors.record(fault, REALM_A, "Customer", "create")
    errors.record(QboError("5010", "Stale Object Error", intuit_tid="2-zz"), REALM_B, "Invoice", "update")
    errors.record_dto({"code": "PREFLIGHT", "message": "lines[0].amount: must be positive", "details": []},
                      REALM_A, "Invoice", "create")  # fmt: skip
    sign_in(console.client)
    page = console.client.get("/review/errors").text
    assert "Duplicate Name Exists Error" in page and "1-cc" in page and "PREFLIGHT" in page
    assert re.search(r'<td class="num">3</td>', page)
    assert "Stale Object Error" not in page  # tenant B's company
    rows, total = errors.grouped([REALM_A])
    assert total == 2 and rows[0]["code"] == "PREFLIGHT" and rows[1]["count"] == 3
    assert rows[1]["intuit_tid"] == "1-cc" and rows[1]["first_seen"] <= rows[1]["last_seen"]
    assert 'title="PREFLIGHT"' not in console.client.get("/review/errors?code=6240").text


def _draft(console: Console, tenant: str, amount: str) -> int:
    record = {"id": "ask-1", "tenantId": tenant, "realmId": REALM_A, "customerId": "cus_0007",
              "issueDate": "2025-03-01", "totalAmount": amount, "currency": "USD",
              "lines": [{"id": "ask-1-1", "description": "Cedar mulch, 3 bags"}]}  # fmt: skip
    draft_id, status = console.connector.store.intents.queue_write(
        "mcp:claude", REALM_A, "Invoice", record, None
    )
    assert status == "pending"
    return draft_id


def test_ai_drafts_show_party_and_amount_and_are_approved_or_rejected_by_name(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine, theirs = _draft(console, "tenant-a", "450.00"), _draft(console, "tenant-b", "77.00")
    csrf = sign_in(console.client)
    page = console.client.get("/review/drafts").text
    assert "Harbor Bakery" in page and "$450.00" in page and "Cedar mulch, 3 bags" in page
    assert "$77.00" not in page
    assert console.client.post(f"/review/drafts/{theirs}/reject", data={"csrf": csrf}).status_code == 404
    pushed: list[tuple[int, str]] = []

    def approve(_connector: Any, write_id: int, approved_by: str) -> tuple[int, dict[str, Any]]:
        pushed.append((write_id, approved_by))
        return 201, {"entity": "Invoice", "qboId": "777", "syncToken": "0"}

    monkeypatch.setattr("service.review.operator.approve_draft", approve)
    assert console.client.post(f"/review/drafts/{mine}/approve", data={}).status_code == 403
    answer = console.client.post(f"/review/drafts/{mine}/approve", data={"csrf": csrf})
    assert answer.status_code == 303 and pushed == [(mine, "Ana Lima")]
    other = _draft(console, "tenant-a", "12.00")
    answer = console.client.post(f"/review/drafts/{other}/reject", data={"csrf": csrf, "reason": "duplicate"})
    assert answer.status_code == 303
    rejected = console.connector.store.intents.write(other)
    assert rejected["status"] == "rejected" and rejected["approved_by"] == "Ana Lima"
    assert rejected["result"]["reason"] == "duplicate"
    assert console.client.post(f"/review/drafts/{other}/reject", data={"csrf": csrf}).status_code == 409


def test_a_sync_issue_is_said_in_words_once_per_kind(console: Console) -> None:
    sign_in(console.client)
    page = console.client.get("/review/queue/issue").text
    assert page.count(">Waiting for a record it refers to<") == 2  # the advice's title, and the row's
    assert page.count("that record goes first, then this one follows") == 1
    assert "references not in QBO yet: vendor ven_0009" in page and "$412.00" not in page


def test_lines_pair_by_their_key_so_an_added_line_marks_only_itself() -> None:
    from service.review.records import lines_of

    detail = {"lines": {"columns": ["line_key", "description", "amount"],
                        "platform": [["1", "Mulch", "240.00"], ["2", "Edging", "35.5"],
                                     ["3", "Planter", "994.50"]],
                        "qbo": [["1", "Mulch", "240"], ["3", "Planter", "994.50"]]}}  # fmt: skip
    lines = lines_of(detail)
    assert lines is not None and lines.columns == ["Line key", "Description", "Amount"]
    assert [[c.text for c in row] for row in lines.platform] == [
        ["1", "Mulch", "240.00"], ["2", "Edging", "35.50"], ["3", "Planter", "994.50"]]  # fmt: skip
    assert [[c.changed for c in row] for row in lines.platform] == [[False] * 3, [True] * 3, [False] * 3]
    assert [c.text for c in lines.qbo[1]] == ["—", "", ""]
    assert lines_of({"lines": {"platform": [], "qbo": []}}) is None and lines_of("not json") is None


def test_pages_say_money_and_dates_as_people_read_them() -> None:
    from service.review.format import age, money, when

    assert money(Decimal("1234.5"), "USD") == "$1,234.50"
    assert money("-12", "EUR") == "-€12.00" and money(1000, "SEK") == "SEK 1,000.00" and money(None) == ""
    assert when(datetime(2025, 3, 12, 14, 5, tzinfo=UTC)) == "12 Mar 2025 14:05 UTC"
    assert age(NOW - timedelta(days=3, hours=2)) == "3 days ago"


def test_a_record_page_shows_its_pushes_and_qbos_webhooks(console: Console) -> None:
    from datetime import UTC, datetime

    from sources.quickbooks.webhook_payloads import parse

    console.connector.store.push_log.record(
        pushed_at=datetime(2026, 11, 2, 9, 30, tzinfo=UTC), tenant_id="tenant-a", realm_id=REALM_A,
        entity="Invoice", platform_id="inv_001042", qbo_id="148", sync_token="4", operation="update",
        request_id="r-1", bid="b-1", payload_hash="h", outcome="ok", error=None,
    )  # fmt: skip
    body = (
        '[{"specversion":"1.0","id":"e-1042","type":"qbo.invoice.updated.v1","time":"2026-11-02T10:00:00Z",'
        f'"intuitentityid":"148","intuitaccountid":"{REALM_A}"}}]'
    )
    assert console.connector.store.events.put(parse(body.encode())) == 1
    sign_in(console.client)
    page = console.client.get("/review/record/tenant-a/Invoice/inv_001042/148").text
    assert "push: update ok" in page and "SyncToken 4" in page
    assert "webhook: update (pending)" in page


def test_a_store_from_an_earlier_version_gains_the_new_columns_and_keeps_its_rows(tmp_path: Path) -> None:
    import sqlite3

    from pipelines.store.integration_store import IntegrationStore

    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:  # the decisions table as first made, before entered values
        db.execute(
            "CREATE TABLE qbo_sync_decisions (id INTEGER PRIMARY KEY, tenant_id VARCHAR(64) NOT NULL, "
            "realm_id VARCHAR(32), entity VARCHAR(32) NOT NULL, platform_id VARCHAR(64) NOT NULL, "
            "qbo_id VARCHAR(64), kind VARCHAR(16) NOT NULL, field VARCHAR(64), choice VARCHAR(16), "
            "platform_value TEXT, qbo_value TEXT, version VARCHAR(64), reviewer VARCHAR(128) NOT NULL, "
            "reason TEXT, decided_at DATETIME NOT NULL, revoked_at DATETIME, revoked_by VARCHAR(128), "
            "pushed_at DATETIME)"
        )
        db.execute(
            "INSERT INTO qbo_sync_decisions (tenant_id, entity, platform_id, kind, reviewer, decided_at) "
            "VALUES ('t', 'Invoice', 'inv_1', 'approve', 'ana', '2026-12-01 10:00:00')"
        )
    store = IntegrationStore(f"sqlite:///{path}")
    (kept,) = store.review.standing()
    assert (kept["platform_id"], kept["reviewer"], kept["value"]) == ("inv_1", "ana", None)
