"""Headless Chromium for the tests that look at pages as a person does (the report, the review console).

Debian's chromium and chromium-driver: `.ci/run` installs them; without them these tests are skipped.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
needs_chromium = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER), reason="Debian's chromium and chromium-driver are not installed"
)


def chromium(profile: Path, width: int = 1400, height: int = 900) -> Iterator[Any]:
    """A headless Chromium window of `width` x `height`, closed when the caller is done."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

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
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER or ""), options=options)
    try:
        driver.set_window_size(width, height)
        yield driver
    finally:
        driver.quit()


def fits(driver: Any, shot: Path) -> str:
    """The page's visible text, after checking it does not scroll sideways; screenshots of the window
    and of the whole page (kept in the test's tmp dir, never committed)."""
    from selenium.webdriver.common.by import By

    width, height = driver.get_window_size()["width"], driver.get_window_size()["height"]
    driver.save_screenshot(str(shot))
    scroll, client = driver.execute_script(
        "const e = document.documentElement; return [e.scrollWidth, e.clientWidth]"
    )
    assert scroll <= client, f"{shot.name}: the page is {scroll} px wide in a {client} px window"
    full = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, max(height, min(int(full) + 120, 6000)))
    driver.save_screenshot(str(shot.with_name(f"{shot.stem}-full.png")))
    driver.set_window_size(width, height)
    return str(driver.find_element(By.TAG_NAME, "body").text)
