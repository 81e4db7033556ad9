"""The review console in headless Chromium, as a finance person uses it at 1400 px: sign in, filter the
conflicts queue, open the conflicted invoice, keep the platform's due date; every page fits the window
(no sideways scrolling) and shows its key numbers. Screenshots land in the test's tmp dir."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipelines.runtime.connector import Connector
from sandbox.background import serving
from service.app import create_app
from tests.browser import chromium, fits, needs_chromium
from tests.service.test_review_console import KEY_A, RECORDS, items, settings_for

pytestmark = needs_chromium


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    yield from chromium(tmp_path / "chromium")


def test_a_reviewer_resolves_a_conflicted_invoice_in_the_browser(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    connector = Connector(settings_for(tmp_path))
    connector.store.review.publish(items(), RECORDS)
    with serving(create_app(connector)) as (base, _server):
        browser.get(f"{base}/review/")  # no session: the sign-in form, then back
        assert "Sign in to review" in browser.find_element(By.TAG_NAME, "body").text
        browser.find_element(By.NAME, "name").send_keys("Ana Lima")
        browser.find_element(By.NAME, "api_key").send_keys(KEY_A)
        browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()

        overview = fits(browser, tmp_path / "overview.png")
        assert "Overview" in overview and "Ana Lima" in overview
        assert "60\nDrift to review" in overview and "2\nConflicts" in overview
        assert "1 record · $1,234.50 at stake" in overview and "$975.25 at stake" in overview

        browser.find_element(By.CSS_SELECTOR, "a.figure[data-queue=conflict]").click()
        Select(browser.find_element(By.NAME, "entity")).select_by_visible_text("Invoice")
        browser.find_element(By.NAME, "q").send_keys("1042")
        browser.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
        queue = fits(browser, tmp_path / "queue.png")
        assert "Conflicts 2" in queue and "$1,234.50" in queue and "Cedar & Pine Landscaping" in queue
        assert queue.count("Both systems changed these values") == 1
        assert len(browser.find_elements(By.CSS_SELECTOR, "table.queue tbody tr")) == 2

        browser.find_element(By.LINK_TEXT, "Invoice 1042").click()
        record = fits(browser, tmp_path / "record.png")
        assert "Invoice 1042" in record and "$1,234.50" in record and "2 of 4 fields differ" in record
        assert len(browser.find_elements(By.CSS_SELECTOR, "tr.differs")) == 2
        assert len(browser.find_elements(By.CSS_SELECTOR, "td.changed")) == 2

        due = browser.find_element(By.CSS_SELECTOR, "form.entry[data-field=due_date]")
        due.find_element(By.NAME, "reason").send_keys("the customer agreed 15 March")
        due.find_element(By.XPATH, ".//button[normalize-space()='Keep platform value']").click()
        decided = fits(browser, tmp_path / "record-decided.png")
        assert "recorded under your name" in decided and "standing" in decided

    (decision,) = connector.store.review.decisions()
    assert (decision["field"], decision["choice"], decision["reviewer"]) == (
        "due_date",
        "platform",
        "Ana Lima",
    )
    assert decision["reason"] == "the customer agreed 15 March"
    assert all((tmp_path / f"{name}.png").stat().st_size > 10_000 for name in ("overview", "queue", "record"))
