"""The drift report: HTML finance reads in a browser, CSV and XLSX of the same rows."""

from __future__ import annotations

import csv
import shutil
import zipfile
from pathlib import Path

import pytest

from pipelines.report.drift import read, write
from tests.transform.conftest import DemoRun

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")


def test_csv_and_xlsx_hold_every_row_of_the_tables(demo_run: DemoRun, tmp_path: Path) -> None:
    paths = write(read(demo_run.warehouse), tmp_path)
    with paths["drift"].open(encoding="utf-8") as handle:
        drift = list(csv.DictReader(handle))
    assert len(drift) == len(demo_run.planted["drift"])
    assert {row["action"] for row in drift} == {"push", "pull", "review"}
    assert all(row["what_to_do"] for row in drift)
    with paths["candidate_matches"].open(encoding="utf-8") as handle:
        assert sum(1 for _ in handle) - 1 == len(demo_run.planted["candidates"])
    with zipfile.ZipFile(paths["xlsx"]) as book:
        sheets = [n for n in book.namelist() if n.startswith("xl/worksheets/sheet")]
        workbook = book.read("xl/workbook.xml").decode()
    assert len(sheets) == 6
    for title in ("Summary", "Drift", "Conflicts", "Candidate matches", "Sync issues"):
        assert f'name="{title}"' in workbook


@pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER), reason="Debian's chromium and chromium-driver are not installed"
)
def test_the_html_report_renders_in_headless_chromium(demo_run: DemoRun, tmp_path: Path) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    report = read(demo_run.warehouse)
    html = write(report, tmp_path)["html"]
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM or ""
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'c'}",
    ):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER or ""), options=options)
    try:
        browser.set_window_size(1400, 1000)
        browser.get(html.as_uri())
        page = browser.find_element(By.TAG_NAME, "body").text  # what a person sees, hidden text excluded
        assert "QuickBooks drift report" in page
        for label, count, _ in report.figures:
            assert f"{count:,}\n{label}" in page, label
        first_conflict = demo_run.planted["conflicts"][0]
        assert first_conflict["platform_id"] in page
        assert "decide which value is right" in page
        chart = browser.find_element(By.CSS_SELECTOR, "svg[aria-label='Drift per entity']")
        assert chart.is_displayed() and chart.size["width"] > 300
        bars = chart.find_elements(By.TAG_NAME, "rect")
        assert len(bars) >= 6
        headings = [h.text for h in browser.find_elements(By.TAG_NAME, "h2")]
        assert any(h.startswith("Drift (") for h in headings) and any(
            h.startswith("Conflicts (") for h in headings
        )
    finally:
        browser.quit()
