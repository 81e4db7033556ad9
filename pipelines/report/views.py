"""What the page shows, ready for the template: drift grouped by action and then by record, each
record named and with its money, line arrays as tables with the differing cells marked, and the
conflicts, candidate matches and sync issues as short tables, each section capped.

The template only lays these out; every word and number is decided here, so the page reads the same
as the files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pipelines.report import formatting as fmt
from pipelines.report import wording
from pipelines.report.exports import BREAKDOWN_COLUMNS, candidate_pair, issue_detail, rows_of
from pipelines.report.records import (
    Directory,
    LineDiff,
    Record,
    field_order,
    field_spec,
    line_diff,
    shown,
)

if TYPE_CHECKING:
    from pipelines.report.drift import Report, Table

RECORD_LIMIT = 40  # record blocks per action on the page
ROW_LIMIT = 50  # rows per table on the page; the CSV and XLSX files hold every one
OPEN_UP_TO = 10  # a section this short opens by itself; longer ones wait for a click
ENTITY_ORDER = ("Invoice", "Bill", "Payment", "Customer", "Vendor", "Item")
ALWAYS_OPEN = ("review", "approval")  # decisions wait on these


@dataclass
class FieldView:
    label: str
    platform: str
    qbo: str
    changed: str
    note: str | None = None
    lines: LineDiff | None = None


@dataclass
class RecordBlock:
    record: Record
    fields: list[FieldView]
    updated: str


@dataclass
class Section:
    key: str
    title: str
    explanation: str
    count: int  # fields, rows or records, as `unit` says
    unit: str
    open: bool
    more: str | None = None  # "Showing 40 of 97 ...; the rest are in ..."
    blocks: list[RecordBlock] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    groups: list[Section] = field(default_factory=list)


def more_note(shown_count: int, total: int, unit: str, csv_name: str, sheet: str) -> str | None:
    """Where the rows the page leaves out are: the CSV and the XLSX sheet."""
    if total <= shown_count:
        return None
    return (
        f"Showing {shown_count:,} of {total:,} {unit}. All of them are in {csv_name} and on the "
        f"“{sheet}” sheet of drift_report.xlsx, beside this page."
    )


def _plural(count: int, word: str) -> str:
    return word if count == 1 else f"{word}s"


def _sort_key(record: Record) -> tuple[Any, ...]:
    """Transactions first, then the most money at stake, then by name."""
    at_stake = record.total if record.total is not None else record.balance
    order = ENTITY_ORDER.index(record.entity) if record.entity in ENTITY_ORDER else len(ENTITY_ORDER)
    return (order, -abs(at_stake or 0), record.label.lower())


def _updated(rows: list[dict[str, Any]]) -> str:
    p = max((r["platform_updated_at"] for r in rows if r.get("platform_updated_at")), default=None)
    q = max((r["qbo_updated_at"] for r in rows if r.get("qbo_updated_at")), default=None)
    parts = [f"platform {fmt.moment(p)}" if p else "", f"QuickBooks {fmt.moment(q)}" if q else ""]
    return "Last changed: " + " · ".join(x for x in parts if x) if p or q else ""


def field_view(row: dict[str, Any], record: Record, directory: Directory) -> FieldView:
    entity, name, realm = row["entity"], row["field"], row.get("realm_id")
    spec = field_spec(entity, name)
    note = None
    if wording.voided_in_qbo(row):
        note = "voided in QuickBooks, which cannot be undone"
    elif row.get("needs_approval"):
        note = f"a {wording.OPERATIONS.get(name, 'change')}: waits for approval"
    if row.get("resolved_by"):
        note = f"resolved by {row['resolved_by']}" + (f"; {note}" if note else "")
    view = FieldView(
        fmt.label(name),
        shown(spec, row["platform_value"], realm, record.currency, directory),
        shown(spec, row["qbo_value"], realm, record.currency, directory),
        wording.CHANGED_IN.get(row.get("changed_in") or "", row.get("changed_in") or ""),
        note,
    )
    if name == "lines":
        view.lines = line_diff(
            entity, row["platform_value"], row["qbo_value"], realm, record.currency, directory
        )
        if view.lines is not None:
            view.platform = view.qbo = ""
    return view


def blocks_of(rows: list[dict[str, Any]], directory: Directory) -> list[RecordBlock]:
    """Drift rows as one block per record, its fields in the spec's order."""
    grouped: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in rows:
        key = (
            row["entity"],
            row.get("tenant_id"),
            row.get("realm_id"),
            row.get("platform_id"),
            row.get("qbo_id"),
        )
        grouped.setdefault(key, []).append(row)
    blocks = []
    for key, fields in grouped.items():
        record = directory.record(*key)
        fields.sort(key=lambda r: field_order(r["entity"], r["field"]))
        blocks.append(
            RecordBlock(record, [field_view(r, record, directory) for r in fields], _updated(fields))
        )
    return sorted(blocks, key=lambda b: _sort_key(b.record))


def drift_sections(table: Table, directory: Directory) -> list[Section]:
    """The drift by what happens next (review, approval, push, pull), each explained once."""
    rows = rows_of(table)
    sections = []
    for key, action in wording.ACTIONS.items():
        picked = [r for r in rows if wording.bucket(r) == key]
        if not picked:
            continue
        blocks = blocks_of(picked, directory)
        sections.append(
            Section(
                key,
                action.title,
                action.explanation,
                len(picked),
                f"{_plural(len(picked), 'field')} on {len(blocks):,} {_plural(len(blocks), 'record')}",
                key in ALWAYS_OPEN or len(blocks) <= OPEN_UP_TO,
                more_note(RECORD_LIMIT, len(blocks), "records", "drift.csv", "Drift"),
                blocks=blocks[:RECORD_LIMIT],
            )
        )
    return sections


def conflicts_section(table: Table, directory: Directory) -> Section:
    rows = rows_of(table)
    records = sorted(
        (
            (
                directory.record(
                    r["entity"], r.get("tenant_id"), r.get("realm_id"), r.get("platform_id"), r.get("qbo_id")
                ),
                r,
            )
            for r in rows
        ),
        key=lambda pair: _sort_key(pair[0]),
    )
    out = [
        [
            record,
            ", ".join(fmt.label(f.strip()) for f in (r.get("fields") or "").split(",") if f.strip()),
            fmt.moment(r.get("last_synced_at")),
            fmt.moment(r.get("platform_updated_at")),
            fmt.moment(r.get("qbo_updated_at")),
        ]
        for record, r in records[:ROW_LIMIT]
    ]
    return Section(
        "conflicts",
        "Conflicts",
        wording.CONFLICTS,
        len(rows),
        "records",
        True,
        more_note(ROW_LIMIT, len(rows), "records", "conflicts.csv", "Conflicts"),
        rows=out,
        columns=["Record", "Fields in conflict", "Last synced", "Platform changed", "QuickBooks changed"],
    )


def candidates_section(table: Table, directory: Directory) -> Section:
    rows = rows_of(table)
    out = []
    for r in rows[:ROW_LIMIT]:
        p, q = candidate_pair(directory, r)
        score = fmt.decimal(r.get("score"))
        matched = ", ".join(fmt.label(f.strip()) for f in (r.get("matched_on") or "").split(",") if f.strip())
        out.append([p, q, f"{score:.0%}" if score is not None else fmt.DASH, matched])
    return Section(
        "matches",
        "Candidate matches",
        wording.CANDIDATES,
        len(rows),
        "pairs",
        len(rows) <= OPEN_UP_TO,
        more_note(ROW_LIMIT, len(rows), "pairs", "candidate_matches.csv", "Candidate matches"),
        rows=out,
        columns=["Platform record", "QuickBooks record", "Score", "Matched on"],
    )


def issues_section(table: Table, directory: Directory) -> Section:
    """Sync issues grouped by kind, each kind explained once."""
    rows = rows_of(table)
    kinds: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        kinds.setdefault(r["issue"], []).append(r)
    groups = []
    for kind, picked in kinds.items():
        title, advice = wording.issue(kind, picked[0].get("what_to_do"))
        records = [
            [
                directory.record(
                    r["entity"], r.get("tenant_id"), r.get("realm_id"), r.get("platform_id"), r.get("qbo_id")
                ),
                issue_detail(r),
            ]
            for r in picked[:ROW_LIMIT]
            if kind != "conflict"  # the Conflicts section lists them already
        ]
        groups.append(
            Section(
                kind,
                title,
                advice,
                len(picked),
                _plural(len(picked), "record"),
                True,
                more_note(ROW_LIMIT, len(picked), "records", "sync_issues.csv", "Sync issues"),
                rows=records,
                columns=["Record", "Detail"],
            )
        )
    return Section(
        "issues",
        "Sync issues",
        "Records that cannot sync as they are, by what stops them.",
        len(rows),
        "records",
        len(rows) <= 3 * OPEN_UP_TO,
        groups=groups,
    )


def breakdown_rows(table: Table, directory: Directory) -> tuple[list[str], list[list[str]]]:
    """The per realm and entity figures, counts grouped by thousands and amounts in the currency."""
    rows = rows_of(table)
    several = len({r.get("realm_id") for r in rows}) > 1
    columns = [
        c
        for c in BREAKDOWN_COLUMNS
        if c.name not in ("tenant_id", "currency") and (several or c.name != "realm_id")
    ]
    out = []
    for r in rows:
        currency = directory.currency(r.get("realm_id"))
        cells = []
        for c in columns:
            value = r.get(c.name)
            if c.kind == "money":
                cells.append(fmt.money(value, currency) if value is not None else fmt.DASH)
            elif c.kind == "int":
                cells.append(f"{value:,}" if isinstance(value, int) else fmt.DASH)
            else:
                cells.append(fmt.DASH if value is None else str(value))
        out.append(cells)
    return [c.header for c in columns], out


def page(report: Report) -> dict[str, Any]:
    """Everything the template shows."""
    d = report.directory
    headers, rows = breakdown_rows(report.breakdown, d)
    realms = [
        " · ".join(x for x in (realm.company, f"realm {realm_id}", realm.currency) if x)
        for realm_id, realm in sorted(d.realms.items())
    ]
    drift = drift_sections(report.tables["drift"], d)
    return {
        "realms": realms,
        "breakdown_columns": headers,
        "breakdown_rows": rows,
        "drift": drift,
        "drift_fields": len(report.tables["drift"].rows),
        "drift_records": len(
            {(r["entity"], r.get("tenant_id"), r.get("platform_id")) for r in rows_of(report.tables["drift"])}
        ),
        "conflicts": conflicts_section(report.tables["conflicts"], d),
        "candidates": candidates_section(report.tables["candidate_matches"], d),
        "issues": issues_section(report.tables["sync_issues"], d),
    }
