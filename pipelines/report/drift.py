"""`qbo report drift`: what finance reads. An HTML page, and CSV and XLSX files of the same rows.

The page opens with the figures that matter (records linked, fields drifting, conflicts, matches to
confirm, records blocked), then a breakdown per realm and entity with a chart, then the drift grouped
by what happens next (review, approval, push, take into the platform), one block per record named the
way a person knows it (customer, 'Invoice 1042 — Acme Ltd') with the money at stake in the realm's
currency, invoice and bill lines as small tables; then conflicts, candidate matches and sync issues.
Each action is explained once, in plain words and with the `qbo` command that does it. It is one
self-contained file (inline CSS and SVG, no script, nothing fetched, sections fold with <details>), so
it can be mailed or opened offline. Everything is read from the warehouse's sync marts and the
staging models that name their records, read-only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from pipelines.report import exports, views
from pipelines.report.records import Directory, read_directory
from pipelines.runtime.warehouse_sql import WarehouseSQL, missing_relation, open_warehouse
from pipelines.runtime.warehouse_target import Warehouse, is_postgres, warehouse_label

TEMPLATES = Path(__file__).with_name("templates")
HTML_ROW_LIMIT = views.ROW_LIMIT  # per table on the page; the CSV and XLSX files hold every row

TABLES: dict[str, tuple[str, str]] = {
    # name: (title, query); every column of the mart, so the files can pick what they show
    "drift": (
        "Drift",
        "SELECT * FROM sync.sync_drift ORDER BY action = 'review' DESC, entity, platform_id, field",
    ),
    "conflicts": ("Conflicts", "SELECT * FROM sync.sync_conflicts ORDER BY entity, platform_id"),
    "candidate_matches": (
        "Candidate matches",
        "SELECT * FROM sync.sync_candidate_matches WHERE is_best ORDER BY entity, score DESC, platform_id",
    ),
    "sync_issues": ("Sync issues", "SELECT * FROM sync.sync_issues ORDER BY issue, entity, platform_id"),
}
BREAKDOWN = (
    "SELECT realm_id, tenant_id, entity, platform_records, qbo_records, linked, candidates, platform_only, "
    "qbo_only, drift_records, drift_fields, conflicts, platform_amount, qbo_amount, amount_difference "
    "FROM sync.sync_reconciliation ORDER BY realm_id, tenant_id, entity"
)
ACTIONS = (  # the chart: drift per realm, entity and action
    "SELECT realm_id, entity, action, count(*) FROM sync.sync_drift GROUP BY realm_id, entity, action"
)
ACTION_COLOURS = {"push": "#2f6fb3", "pull": "#3c9a5f", "review": "#c9472f"}
ACTION_WORDS = {"push": "push to QuickBooks", "pull": "take into the platform", "review": "review"}


@dataclass
class Table:
    name: str
    title: str
    columns: list[str]
    rows: list[tuple[Any, ...]]


@dataclass
class Report:
    generated_at: datetime
    warehouse: str  # the file, or the URL without its password
    tables: dict[str, Table]
    breakdown: Table
    actions: list[tuple[str, str, int]]
    directory: Directory = field(default_factory=Directory)

    @property
    def figures(self) -> list[tuple[str, int, str]]:
        rows = self.breakdown.rows
        col = {name: i for i, name in enumerate(self.breakdown.columns)}
        linked = sum(r[col["linked"]] for r in rows)
        per_action = {a: sum(n for _, act, n in self.actions if act == a) for a in ACTION_COLOURS}
        return [
            ("records linked", linked, "platform records with their QuickBooks twin"),
            ("fields drifting", len(self.tables["drift"].rows), "values that differ between the systems"),
            ("to push to QBO", per_action["push"], "the platform masters them"),
            ("to pull into the platform", per_action["pull"], "QuickBooks masters them"),
            ("conflicts", len(self.tables["conflicts"].rows), "changed in both systems: decide"),
            ("matches to confirm", len(self.tables["candidate_matches"].rows), "unlinked look-alikes"),
            ("sync issues", len(self.tables["sync_issues"].rows), "records that cannot sync as they are"),
        ]


def read(warehouse: Warehouse) -> Report:
    """The report's rows, from the sync marts (`qbo transform` builds them), and the names of their
    records from the staging models; on PostgreSQL all from one snapshot."""
    label = warehouse_label(warehouse)
    if not is_postgres(warehouse) and not Path(warehouse).exists():
        raise FileNotFoundError(f"no warehouse at {label}; run `qbo sync` and `qbo transform` first")
    with open_warehouse(warehouse) as db:
        try:
            tables = {name: _table(db, name, title, sql) for name, (title, sql) in TABLES.items()}
            breakdown = _table(db, "breakdown", "Per realm and entity", BREAKDOWN)
            counted = db.all(ACTIONS)
        except Exception as exc:
            if not missing_relation(exc):
                raise
            first = str(exc).strip().splitlines()[0]
            raise FileNotFoundError(
                f"the warehouse {label} has no sync marts yet; run `qbo transform` first ({first})"
            ) from None
        directory = read_directory(db)
    several = len({realm for realm, *_ in counted}) > 1  # then each bar says its realm
    actions = sorted((f"{e} · {realm}" if several else e, a, n) for realm, e, a, n in counted)
    return Report(datetime.now(UTC), label, tables, breakdown, actions, directory)


def _table(db: WarehouseSQL, name: str, title: str, sql: str) -> Table:
    cursor = db.execute(sql)
    columns = [d[0] for d in cursor.description]
    return Table(name, title, columns, [tuple(r) for r in cursor.fetchall()])


def write(report: Report, out: Path) -> dict[str, Path]:
    """drift_report.html, drift_report.xlsx and one CSV per table, under `out`; returns the paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"html": out / "drift_report.html", "xlsx": out / "drift_report.xlsx"}
    paths["html"].write_text(render_html(report), encoding="utf-8")
    sheets = exports.sheets(report)
    for sheet in sheets:
        paths[sheet.name] = out / f"{sheet.name}.csv"
        exports.write_csv(sheet, paths[sheet.name])
    exports.write_xlsx(report, paths["xlsx"], sheets)
    return paths


write_xlsx = exports.write_xlsx


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
        f'<svg role="img" aria-label="Drift per entity" width="{max(label_w + plot_w + 80, 560)}" '
        f'height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" font-size="13">'
    ]
    for i, entity in enumerate(entities):
        y = i * (bar + gap)
        parts.append(f'<text x="0" y="{y + bar - 6}">{escape(entity)}</text>')
        x = float(label_w)
        for action, colour in ACTION_COLOURS.items():
            n = next((c for e, a, c in actions if e == entity and a == action), 0)
            if n:
                w = plot_w * n / widest
                parts.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar}" fill="{colour}">'
                    f"<title>{escape(entity)}: {n} to {ACTION_WORDS[action]}</title></rect>"
                )
                x += w
        parts.append(f'<text x="{x + 6:.1f}" y="{y + bar - 6}">{totals[entity]}</text>')
    legend_y = len(entities) * (bar + gap) + 14
    legend_x = float(label_w)
    for action, colour in ACTION_COLOURS.items():
        parts.append(f'<rect x="{legend_x:.0f}" y="{legend_y - 10}" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{legend_x + 18:.0f}" y="{legend_y}">{ACTION_WORDS[action]}</text>')
        legend_x += 18 + 7.5 * len(ACTION_WORDS[action]) + 24
    parts.append("</svg>")
    return "".join(parts)


def code(text: str) -> Markup:
    """Escaped text with its `qbo ...` commands set as code."""
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text))))  # noqa: S704 (escaped first)


def render_html(report: Report) -> str:
    """The page: the template over the views (every word and number is decided in views.py)."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True))
    env.filters["code"] = code
    template = env.get_template("drift_report.html")
    return template.render(
        generated=report.generated_at.strftime("%Y-%m-%d %H:%M UTC"),
        warehouse=report.warehouse,
        figures=report.figures,
        chart=chart_svg(report.actions),
        **views.page(report),
    )
