"""The report's files: one CSV per table and one XLSX workbook of the same rows, for spreadsheets.

Rows carry typed values (Decimal money, dates, timestamps) so the XLSX gets number and date formats
and the CSV plain ISO text; records are named as on the page, platform and QuickBooks values sit in
adjacent columns, and every text cell is neutralised against formula injection (a platform record
is outside data: a display name `=HYPERLINK(...)` must stay text in finance's spreadsheet).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import xlsxwriter

from pipelines.mapping.rendering import rendered
from pipelines.report import formatting as fmt
from pipelines.report import wording
from pipelines.report.records import Directory, Record, field_spec, line_diff, typed

if TYPE_CHECKING:
    from pipelines.report.drift import Report, Table

SNAKE_CASE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")
WIDTHS = {"text": 40, "wrap": 60, "money": 16, "int": 11, "score": 8, "date": 12, "moment": 17}


@dataclass
class Column:
    name: str  # the CSV header (stable, for scripts)
    header: str  # the XLSX header (for people)
    kind: str = "text"  # text | wrap | money | int | score | date | moment


@dataclass
class Sheet:
    name: str  # the CSV file's stem
    title: str  # the XLSX sheet's name
    columns: list[Column]
    rows: list[tuple[Any, ...]]


def rows_of(table: Table) -> list[dict[str, Any]]:
    return [dict(zip(table.columns, row, strict=True)) for row in table.rows]


def _cols(*specs: tuple[str, str] | tuple[str, str, str]) -> list[Column]:
    return [Column(*spec) for spec in specs]


RECORD = (("entity", "Entity"), ("record", "Record"), ("number", "Number"), ("party", "Customer / vendor"))
IDS = (
    ("tenant_id", "Tenant"),
    ("realm_id", "Realm"),
    ("platform_id", "Platform id"),
    ("qbo_id", "QuickBooks id"),
)


def _record(directory: Directory, row: dict[str, Any]) -> Record:
    return directory.record(
        row["entity"], row.get("tenant_id"), row.get("realm_id"), row.get("platform_id"), row.get("qbo_id")
    )


def drift_sheet(table: Table, directory: Directory) -> Sheet:
    """One row per drifting field, named record first, the two values side by side."""
    columns = _cols(
        *RECORD,
        ("date", "Date", "date"),
        ("total", "Total", "money"),
        ("balance", "Balance", "money"),
        ("currency", "Currency"),
        ("field", "Field"),
        ("platform_value", "Platform value", "wrap"),
        ("qbo_value", "QuickBooks value", "wrap"),
        ("line_changes", "Line changes", "wrap"),
        ("action", "Action"),
        ("what_to_do", "What to do", "wrap"),
        ("needs_approval", "Needs approval"),
        ("master", "Mastered by"),
        ("changed_in", "Changed"),
        ("platform_updated_at", "Platform updated", "moment"),
        ("qbo_updated_at", "QuickBooks updated", "moment"),
        *IDS,
    )
    rows = []
    for row in rows_of(table):
        record = _record(directory, row)
        spec = field_spec(row["entity"], row["field"])
        platform = typed(spec, row["platform_value"], row.get("realm_id"), directory)
        qbo = typed(spec, row["qbo_value"], row.get("realm_id"), directory)
        changes = None
        if row["field"] == "lines":
            diff = line_diff(
                row["entity"], row["platform_value"], row["qbo_value"], record.realm_id, None, directory
            )
            if diff is not None:
                platform, qbo, changes = diff.text("platform") or None, diff.text("qbo") or None, diff.changes
        rows.append(
            (
                row["entity"],
                record.label,
                record.number,
                record.party,
                record.txn_date,
                record.total,
                record.balance,
                record.currency,
                row["field"],
                platform,
                qbo,
                changes,
                row["action"],
                wording.what_to_do(row),
                "Yes" if row.get("needs_approval") else "No",
                "QuickBooks" if row.get("master") == "qbo" else row.get("master"),
                wording.CHANGED_IN.get(row.get("changed_in") or "", row.get("changed_in")),
                row.get("platform_updated_at"),
                row.get("qbo_updated_at"),
                *(row.get(k) for k, _ in IDS),
            )
        )
    return Sheet("drift", "Drift", columns, rows)


def conflicts_sheet(table: Table, directory: Directory) -> Sheet:
    columns = _cols(
        *RECORD,
        ("total", "Total", "money"),
        ("balance", "Balance", "money"),
        ("currency", "Currency"),
        ("fields", "Fields in conflict", "wrap"),
        ("last_synced_at", "Last synced", "moment"),
        ("platform_updated_at", "Platform updated", "moment"),
        ("qbo_updated_at", "QuickBooks updated", "moment"),
        ("status", "Status"),
        ("what_to_do", "What to do", "wrap"),
        *IDS,
    )
    rows = []
    for row in rows_of(table):
        record = _record(directory, row)
        fields = ", ".join(fmt.label(f.strip()) for f in (row.get("fields") or "").split(",") if f.strip())
        rows.append(
            (
                row["entity"],
                record.label,
                record.number,
                record.party,
                record.total,
                record.balance,
                record.currency,
                fields,
                row.get("last_synced_at"),
                row.get("platform_updated_at"),
                row.get("qbo_updated_at"),
                row.get("status"),
                wording.CONFLICT_SHORT,
                *(row.get(k) for k, _ in IDS),
            )
        )
    return Sheet("conflicts", "Conflicts", columns, rows)


def candidates_sheet(table: Table, directory: Directory) -> Sheet:
    """Each proposed pair with the platform's and QuickBooks' names, numbers, dates, totals side by side."""
    columns = _cols(
        ("entity", "Entity"),
        ("platform_record", "Platform record"),
        ("qbo_record", "QuickBooks record"),
        ("score", "Score", "score"),
        ("matched_on", "Matched on"),
        ("platform_number", "Platform number"),
        ("qbo_number", "QuickBooks number"),
        ("platform_party", "Platform customer / vendor"),
        ("qbo_party", "QuickBooks customer / vendor"),
        ("platform_date", "Platform date", "date"),
        ("qbo_date", "QuickBooks date", "date"),
        ("platform_total", "Platform total", "money"),
        ("qbo_total", "QuickBooks total", "money"),
        ("currency", "Currency"),
        ("what_to_do", "What to do", "wrap"),
        *IDS,
    )
    rows = []
    for row in rows_of(table):
        p, q = candidate_pair(directory, row)
        matched = ", ".join(
            fmt.label(f.strip()) for f in (row.get("matched_on") or "").split(",") if f.strip()
        )
        rows.append(
            (
                row["entity"],
                p.label,
                q.label,
                row.get("score"),
                matched,
                p.number,
                q.number,
                p.party,
                q.party,
                p.txn_date,
                q.txn_date,
                p.total,
                q.total,
                p.currency or q.currency,
                wording.CANDIDATE_SHORT,
                *(row.get(k) for k, _ in IDS),
            )
        )
    return Sheet("candidate_matches", "Candidate matches", columns, rows)


def candidate_pair(directory: Directory, row: dict[str, Any]) -> tuple[Record, Record]:
    """A candidate match's two records, each named from its own side only."""
    entity, realm = row["entity"], row.get("realm_id")
    return (
        directory.record(entity, row.get("tenant_id"), realm, row.get("platform_id"), None),
        directory.record(entity, None, realm, None, row.get("qbo_id")),
    )


def issues_sheet(table: Table, directory: Directory) -> Sheet:
    columns = _cols(
        *RECORD,
        ("issue", "Issue code"),
        ("problem", "Problem"),
        ("detail", "Detail", "wrap"),
        ("what_to_do", "What to do", "wrap"),
        *IDS,
    )
    rows = []
    for row in rows_of(table):
        record = _record(directory, row)
        title, advice = wording.issue(row["issue"], row.get("what_to_do"))
        rows.append(
            (
                row["entity"],
                record.label,
                record.number,
                record.party,
                row["issue"],
                title,
                issue_detail(row),
                advice,
                *(row.get(k) for k, _ in IDS),
            )
        )
    return Sheet("sync_issues", "Sync issues", columns, rows)


def issue_detail(row: dict[str, Any]) -> str:
    """The issue's detail with the spec's field names in words (`display_name` -> "Name"); a
    conflict's as the list of its fields."""
    detail = row.get("detail") or ""
    if row.get("issue") == "conflict" and ": " in detail:
        fields = detail.split(": ", 1)[1]
        return "Fields: " + ", ".join(fmt.label(f.strip()) for f in fields.split(",") if f.strip())
    names = {f["name"] for f in (rendered().get(row.get("entity") or "") or {}).get("fields", [])}
    return SNAKE_CASE.sub(lambda m: fmt.label(m[0]) if m[0] in names else m[0], detail)


BREAKDOWN_COLUMNS = _cols(
    ("realm_id", "Realm"),
    ("tenant_id", "Tenant"),
    ("entity", "Entity"),
    ("platform_records", "Platform records", "int"),
    ("qbo_records", "QuickBooks records", "int"),
    ("linked", "Linked", "int"),
    ("candidates", "Look-alikes to confirm", "int"),
    ("platform_only", "Only in the platform", "int"),
    ("qbo_only", "Only in QuickBooks", "int"),
    ("drift_records", "Records drifting", "int"),
    ("drift_fields", "Fields drifting", "int"),
    ("conflicts", "Conflicts", "int"),
    ("platform_amount", "Platform amount", "money"),
    ("qbo_amount", "QuickBooks amount", "money"),
    ("amount_difference", "Difference", "money"),
    ("currency", "Currency"),
)


def breakdown_sheet(table: Table, directory: Directory) -> Sheet:
    rows = []
    for row in rows_of(table):
        values = {**row, "currency": directory.currency(row.get("realm_id"))}
        rows.append(tuple(values.get(c.name) for c in BREAKDOWN_COLUMNS))
    return Sheet("breakdown", "Per realm and entity", BREAKDOWN_COLUMNS, rows)


def sheets(report: Report) -> list[Sheet]:
    """Every table of the report as a file sheet: the breakdown, then drift, conflicts, matches, issues."""
    t, d = report.tables, report.directory
    return [
        breakdown_sheet(report.breakdown, d),
        drift_sheet(t["drift"], d),
        conflicts_sheet(t["conflicts"], d),
        candidates_sheet(t["candidate_matches"], d),
        issues_sheet(t["sync_issues"], d),
    ]


# writing ---------------------------------------------------------------------------------------------


def csv_value(value: Any) -> Any:
    """A cell as CSV text: ISO dates, plain numbers, Yes/No, and no text a spreadsheet would run."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float | Decimal):
        return value
    return fmt.neutralise(str(value))


def write_csv(sheet: Sheet, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([c.name for c in sheet.columns])
        writer.writerows([csv_value(v) for v in row] for row in sheet.rows)


def write_xlsx(report: Report, path: Path, tables: list[Sheet] | None = None) -> None:
    """The workbook: a summary, then one sheet per table with widths, formats, a frozen filtered header."""
    book = xlsxwriter.Workbook(
        str(path),
        {
            "remove_timezone": True,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    formats = {
        "header": book.add_format(
            {"bold": True, "bg_color": "#e8eef5", "border": 1, "text_wrap": True, "valign": "top"}
        ),
        "money": book.add_format({"num_format": "#,##0.00", "valign": "top"}),
        "int": book.add_format({"num_format": "#,##0", "valign": "top"}),
        "score": book.add_format({"num_format": "0%", "valign": "top"}),
        "date": book.add_format({"num_format": "yyyy-mm-dd", "valign": "top"}),
        "moment": book.add_format({"num_format": "yyyy-mm-dd hh:mm", "valign": "top"}),
        "wrap": book.add_format({"text_wrap": True, "valign": "top"}),
        "text": book.add_format({"valign": "top"}),
    }
    summary = book.add_worksheet("Summary")
    summary.write_row(0, 0, ["Figure", "Count", "Meaning"], formats["header"])
    for n, (label, count, meaning) in enumerate(report.figures, start=1):
        summary.write_string(n, 0, label)
        summary.write_number(n, 1, count, formats["int"])
        summary.write_string(n, 2, meaning)
    n = len(report.figures) + 2
    summary.write_string(n, 0, "Generated (UTC)")
    summary.write_datetime(n, 1, report.generated_at, formats["moment"])
    for realm_id, realm in sorted(report.directory.realms.items()):
        n += 1
        summary.write_string(n, 0, f"Realm {realm_id}")
        summary.write_string(
            n, 2, fmt.neutralise(" · ".join(x for x in (realm.company, realm.currency) if x))
        )
    summary.set_column(0, 0, 28)
    summary.set_column(1, 1, 17)
    summary.set_column(2, 2, 48)
    for sheet in tables if tables is not None else sheets(report):
        ws = book.add_worksheet(sheet.title[:31])
        for c, column in enumerate(sheet.columns):
            ws.write_string(0, c, column.header, formats["header"])
        for r, row in enumerate(sheet.rows, start=1):
            for c, (value, column) in enumerate(zip(row, sheet.columns, strict=True)):
                _put(ws, r, c, value, column.kind, formats)
        ws.autofilter(0, 0, max(len(sheet.rows), 1), len(sheet.columns) - 1)
        ws.freeze_panes(1, 0)
        for c, column in enumerate(sheet.columns):
            ws.set_column(c, c, _width(sheet, c, column), formats["wrap"] if column.kind == "wrap" else None)
    book.close()


def _put(ws: Any, r: int, c: int, value: Any, kind: str, formats: dict[str, Any]) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        ws.write_string(r, c, "Yes" if value else "No", formats["text"])
    elif isinstance(value, int):
        ws.write_number(r, c, value, formats["int"])
    elif isinstance(value, Decimal | float):
        ws.write_number(r, c, float(value), formats["score" if kind == "score" else "money"])
    elif isinstance(value, datetime):
        ws.write_datetime(r, c, value, formats["moment"])
    elif isinstance(value, date):
        ws.write_datetime(r, c, datetime.combine(value, time()), formats["date"])
    else:
        text = str(fmt.neutralise(str(value)))
        ws.write_string(r, c, text, formats["wrap"] if kind == "wrap" or "\n" in text else formats["text"])


def _width(sheet: Sheet, c: int, column: Column) -> float:
    """Wide enough for the header and the longest value (of the first 1,000 rows), within a cap."""
    longest = max((len(w) for w in column.header.split()), default=8)
    for row in sheet.rows[:1000]:
        value = row[c]
        if value is None:
            continue
        if isinstance(value, datetime):
            size = 16
        elif isinstance(value, date):
            size = 10
        elif isinstance(value, Decimal | float | int) and not isinstance(value, bool):
            size = len(f"{value:,.2f}")
        else:
            size = max((len(line) for line in str(value).splitlines()), default=0)
        longest = max(longest, size)
    return float(min(max(longest + 2, 8), WIDTHS.get(column.kind, 40)))
