"""The review console on the demo company, end to end in headless Chromium: a reviewer signs in, filters
the conflicts queue, opens a conflicted invoice and keeps the platform's values, confirms a candidate
customer match and approves a void; then `qbo transform` and `qbo push` send exactly those, the
sandbox holds the decided values, the queues shrink by exactly those, and a second push sends nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pipelines.runtime.connector import Connector
from sandbox.background import serving
from service.app import create_app
from tests.browser import chromium, fits, needs_chromium
from tests.push.conftest import Ready
from tests.push.test_review_decisions import QBO_PATHS, build, pushed_and_synced, sizes

KEY = "review-e2e-key-0123456789"
pytestmark = needs_chromium


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ready]:
    yield from pushed_and_synced(tmp_path_factory.mktemp("browser_review"))


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    yield from chromium(tmp_path / "chromium")


def test_decisions_made_in_the_browser_are_pushed_exactly(
    reviewed: Ready, browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    review = reviewed.world.connector.store.review
    before = sizes(reviewed)
    conflicts, _ = review.entries(None, "conflict", entity="Invoice", page_size=200)
    conflict = next(e for e in conflicts if e["field"] in QBO_PATHS and e["platform_value"] is not None)
    fields = sorted({e["field"] for e in conflicts if e["platform_id"] == conflict["platform_id"]})
    candidate = review.entries(None, "candidate", entity="Customer", page_size=1)[0][0]
    void = review.entries(None, "approval", action="void", page_size=1)[0][0]
    settings = replace(reviewed.world.settings, gateway_api_keys={KEY: frozenset({"demo-tenant"})})

    def submit(button: Any) -> None:
        """Click and wait for the answer's page: the next navigation must not race the form's."""
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.ui import WebDriverWait

        button.click()
        WebDriverWait(browser, 30).until(expected_conditions.staleness_of(button))

    def open_record(base: str, queue: str, query: str, entry: dict[str, Any]) -> None:
        browser.get(f"{base}/review/queue/{queue}?{query}")
        # the record's page, not the queue's still on screen: its buttons are looked up next
        submit(browser.find_element(By.CSS_SELECTOR, f"a[href*='/{entry['platform_id']}/{entry['qbo_id']}']"))

    with serving(create_app(Connector(settings))) as (base, _server):
        browser.get(f"{base}/review/")
        browser.find_element(By.NAME, "name").send_keys("Fiona Finance")
        browser.find_element(By.NAME, "api_key").send_keys(KEY)
        submit(browser.find_element(By.CSS_SELECTOR, "form button[type=submit]"))
        assert "Fiona Finance" in fits(browser, tmp_path / "overview.png")

        number = conflict["label"].split()[-1]
        open_record(base, "conflict", f"entity=Invoice&q={number}", conflict)
        page = fits(browser, tmp_path / "record.png")
        assert conflict["label"] in page
        for field in fields:  # a record in conflict is pushed once each of its conflicting fields is decided
            form = browser.find_element(
                By.CSS_SELECTOR, f"form.entry[data-queue=conflict][data-field={field}]"
            )
            form.find_element(By.NAME, "reason").send_keys("checked with the customer")
            submit(form.find_element(By.XPATH, ".//button[normalize-space()='Keep platform value']"))

        open_record(base, "candidate", "entity=Customer", candidate)
        submit(browser.find_element(By.XPATH, "//button[normalize-space()='Confirm match']"))
        open_record(base, "approval", "action=void", void)
        submit(browser.find_element(By.XPATH, "//button[starts-with(normalize-space(), 'Approve')]"))
        assert "Fiona Finance" in fits(browser, tmp_path / "approved.png")

    standing = review.decisions(None, standing_only=True)
    assert {(d["kind"], d["platform_id"]) for d in standing} == {
        *(("resolve", conflict["platform_id"]) for _ in fields),
        ("confirm", candidate["platform_id"]),
        ("approve", void["platform_id"]),
    }
    assert all(d["reviewer"] == "Fiona Finance" for d in standing)

    pushed_before = len(reviewed.push_results())
    build(reviewed)
    reviewed.push()
    sent = {(r["entity"], r["platform_id"]): r["operation"] for r in reviewed.push_results()[pushed_before:]
            if r["outcome"] == "ok"}  # fmt: skip
    assert sent.get(("Invoice", void["platform_id"])) == "void"
    assert sent.get(("Invoice", conflict["platform_id"])) == "update"
    decided = {("Invoice", conflict["platform_id"]), ("Invoice", void["platform_id"]),
               ("Customer", candidate["platform_id"])}  # fmt: skip
    assert set(sent) <= decided, f"sent what nobody decided: {set(sent) - decided}"
    assert (
        str(reviewed.qbo("Invoice", conflict["qbo_id"]).get(QBO_PATHS[conflict["field"]]))
        == conflict["platform_value"]
    )
    assert reviewed.qbo("Invoice", void["qbo_id"])["PrivateNote"].startswith("Voided")

    reviewed.sync()
    build(reviewed)
    after = sizes(reviewed)
    assert after["approval"] == before["approval"] - 1
    assert after["conflict"] == before["conflict"] - len(fields)
    assert after["candidate"] < before["candidate"]
    again = len(reviewed.push_results())
    reviewed.push()
    assert [r for r in reviewed.push_results()[again:] if r["outcome"] == "ok"] == []
