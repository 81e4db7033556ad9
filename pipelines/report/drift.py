"""`qbo report drift`: what finance reads. An HTML page, and CSV and XLSX files of the same rows.

The page opens with the figures that matter (records linked, fields drifting, conflicts, matches to
confirm, records blocked), then a breakdown per realm and entity with a chart, then the tables: drift,
conflicts, candidate matches and sync issues, every row saying what to do. It is one self-contained
file (inline CSS and SVG, no script, nothing fetched), so it can be mailed or opened offline.
Everything is read from the sync marts of the warehouse, read-only.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import xlsxwriter
from jinja2 import Environment, FileSystemLoader, select_autoescape

TEMPLATES = Path(__file__).with_name("templates")
HTML_ROW_LIMIT = 500  # per table on the page; the CSV and XLSX files hold every row

TABLES: dict[str, tuple[str, str]] = {
    # name: (title, query); the page shows the columns in ON_PAGE, the files all of them
    "drift": (
        "Drift",
        "SELECT entity, tenant_id, realm_id, platform_id, qbo_id, field, platform_value, qbo_value, master, "
        "changed_in, action, needs_approval, platform_updated_at, qbo_updated_at, what_to_do "
        "FROM sync.sync_drift ORDER BY action = 'review' DESC, entity, platform_id, field",
    ),
    "conflicts": (
        "Conflicts",
        "SELECT entity, tenant_id, realm_id, platform_id, qbo_id, fields, last_synced_at, "
        "platform_updated_at, qbo_updated_at, status, what_to_do FROM sync.sync_conflicts "
        "ORDER BY entity, platform_id",
    ),
    "candidate_matches": (
        "Candidate matches",
        "SELECT entity, tenant_id, realm_id, platform_id, qbo_id, score, matched_on, what_to_do "
        "FROM sync.sync_candidate_matches WHERE is_best ORDER BY entity, score DESC, platform_id",
    ),
    "sync_issues": (
        "Sync issues",
        "SELECT entity, tenant_id, realm_id, platform_id, qbo_id, issue, detail, what_to_do "
        "FROM sync.sync_issues ORDER BY issue, entity, platform_id",
    ),
}
BREAKDOWN = (
    "SELECT realm_id, tenant_id, entity, platform_records, qbo_records, linked, candidates, platform_only, "
    "qbo_only, drift_records, drift_fields, conflicts, platform_amount, qbo_amount, amount_difference "
    "FROM sync.sync_reconciliation ORDER BY realm_id, tenant_id, entity"
)
ON_PAGE = {
    "drift": [
        "entity",
        "platform_id",
        "qbo_id",
        "field",
        "platform_value",
        "qbo_value",
        "changed_in",
        "action",
        "what_to_do",
    ],
    "conflicts": ["entity", "platform_id", "qbo_id", "fields", "last_synced_at", "what_to_do"],
    "candidate_matches": ["entity", "platform_id", "qbo_id", "score", "matched_on", "what_to_do"],
    "sync_issues": ["entity", "platform_id", "qbo_id", "issue", "detail", "what_to_do"],
}
ACTIONS = (  # the chart: drift per realm, entity and action
    "SELECT realm_id, entity, action, count(*) FROM sync.sync_drift GROUP BY realm_id, entity, action"
)
ACTION_COLOURS = {"push": "#2f6fb3", "pull": "#3c9a5f", "review": "#c9472f"}


@dataclass
class Table:
    name: str
    title: str
    columns: list[str]
    rows: list[tuple[Any, ...]]


@dataclass
class Report:
    generated_at: datetime
    warehouse: Path
    tables: dict[str, Table]
    breakdown: Table
    actions: list[tuple[str, str, int]]

    @property
    def figures(self) -> list[tuple[str, int, str]]:
        rows = self.breakdown.rows
        col = {name: i for i, name in enumerate(self.breakdown.columns)}
        linked = sum(r[col["linked"]] for r in rows)
        per_action = {a: sum(n for _, act, n in self.actions if act == a) for a in ACTION_COLOURS}
        return [
            ("records linked", linked, "platform records with their QBO twin"),
            ("fields drifting", len(self.tables["drift"].rows), "values that differ between the systems"),
            ("to push to QBO", per_action["push"], "the platform masters them"),
            ("to pull into the platform", per_action["pull"], "QBO masters them"),
            ("conflicts", len(self.tables["conflicts"].rows), "changed in both systems: decide"),
            ("matches to confirm", len(self.tables["candidate_matches"].rows), "unlinked look-alikes"),
            ("sync issues", len(self.tables["sync_issues"].rows), "records that cannot sync as they are"),
        ]


def read(warehouse: Path) -> Report:
    """The report's rows, from the sync marts (`qbo transform` builds them)."""
    if not warehouse.exists():
        raise FileNotFoundError(f"no warehouse at {warehouse}; run `qbo sync` and `qbo transform` first")
    with duckdb.connect(str(warehouse), read_only=True) as db:
        try:
            tables = {name: _table(db, name, title, sql) for name, (title, sql) in TABLES.items()}
            breakdown = _table(db, "breakdown", "Per realm and entity", BREAKDOWN)
            counted = db.execute(ACTIONS).fetchall()
        except duckdb.CatalogException as exc:
            raise FileNotFoundError(
                f"the warehouse {warehouse} has no sync marts yet; run `qbo transform` first ({exc})"
            ) from None
    several = len({realm for realm, *_ in counted}) > 1  # then each bar says its realm
    actions = sorted((f"{e} · {realm}" if several else e, a, n) for realm, e, a, n in counted)
    return Report(datetime.now(UTC), warehouse, tables, breakdown, actions)


def _table(db: duckdb.DuckDBPyConnection, name: str, title: str, sql: str) -> Table:
    cursor = db.execute(sql)
    columns = [d[0] for d in cursor.description]
    return Table(name, title, columns, [tuple(r) for r in cursor.fetchall()])


def on_page(table: Table) -> Table:
    """The columns a person reads on the page (the files keep every column)."""
    keep = ON_PAGE.get(table.name, table.columns)
    index = [table.columns.index(c) for c in keep]
    return Table(table.name, table.title, keep, [tuple(row[i] for i in index) for row in table.rows])


def write(report: Report, out: Path) -> dict[str, Path]:
    """drift_report.html, drift_report.xlsx and one CSV per table, under `out`; returns the paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"html": out / "drift_report.html", "xlsx": out / "drift_report.xlsx"}
    paths["html"].write_text(render_html(report), encoding="utf-8")
    for table in [*report.tables.values(), report.breakdown]:
        path = out / f"{table.name}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(table.columns)
            writer.writerows([_cell(v) for v in row] for row in table.rows)
        paths[table.name] = path
    write_xlsx(report, paths["xlsx"])
    return paths


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return "" if value is None else value


def write_xlsx(report: Report, path: Path) -> None:
    book = xlsxwriter.Workbook(str(path), {"remove_timezone": True, "strings_to_numbers": False})
    bold = book.add_format({"bold": True, "bg_color": "#e8eef5", "border": 1})
    summary = book.add_worksheet("Summary")
    summary.write_row(0, 0, ["figure", "count", "meaning"], bold)
    for n, (label, count, meaning) in enumerate(report.figures, start=1):
        summary.write_row(n, 0, [label, count, meaning])
    summary.set_column(0, 0, 26)
    summary.set_column(2, 2, 44)
    for table in [report.breakdown, *report.tables.values()]:
        sheet = book.add_worksheet(table.title[:31])
        sheet.write_row(0, 0, table.columns, bold)
        for n, row in enumerate(table.rows, start=1):
            sheet.write_row(n, 0, [_cell(v) if not isinstance(v, int | float) else v for v in row])
        sheet.autofilter(0, 0, max(len(table.rows), 1), len(table.columns) - 1)
        sheet.freeze_panes(1, 0)
        sheet.set_column(0, len(table.columns) - 1, 18)
    book.close()


def chart_svg(actions: list[tuple[str, str, int]]) -> str:
    """Drift per entity as horizontal stacked bars (push, pull, review): inline SVG, no script."""
    entities = sorted({e for e, _, _ in actions})
    if not entities:
        return '<p class="muted">No drift: every linked record agrees.</p>'
    totals = {e: sum(n for ent, _, n in actions if ent == e) for e in entities}
    widest = max(totals.values())
    bar, gap, plot_w = 22, 10, 520
    label_w = max(110, 8 * max(len(e) for e in entities))
    height = len(entities) * (bar + gap) + 30
    parts = [
        f'<svg role="img" aria-label="Drift per entity" width="{label_w + plot_w + 80}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" font-size="13">'
    ]
    for i, entity in enumerate(entities):
        y = i * (bar + gap)
        parts.append(f'<text x="0" y="{y + bar - 6}">{entity}</text>')
        x = float(label_w)
        for action, colour in ACTION_COLOURS.items():
            n = next((c for e, a, c in actions if e == entity and a == action), 0)
            if n:
                w = plot_w * n / widest
                parts.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar}" fill="{colour}">'
                    f"<title>{entity}: {n} to {action}</title></rect>"
                )
                x += w
        parts.append(f'<text x="{x + 6:.1f}" y="{y + bar - 6}">{totals[entity]}</text>')
    legend_y = len(entities) * (bar + gap) + 14
    for j, (action, colour) in enumerate(ACTION_COLOURS.items()):
        parts.append(
            f'<rect x="{label_w + j * 110}" y="{legend_y - 10}" width="12" height="12" fill="{colour}"/>'
        )
        parts.append(f'<text x="{label_w + j * 110 + 18}" y="{legend_y}">{action}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(report: Report) -> str:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True))
    template = env.get_template("drift_report.html")
    return template.render(
        generated=report.generated_at.strftime("%Y-%m-%d %H:%M UTC"),
        warehouse=str(report.warehouse),
        figures=report.figures,
        chart=chart_svg(report.actions),
        breakdown=report.breakdown,
        tables=[on_page(t) for t in report.tables.values()],
        limit=HTML_ROW_LIMIT,
    )
