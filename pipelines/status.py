"""`qbo status`: what an engineer checks first: is each realm connected, synced, failing?"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pipelines.runtime.connector import Connector

if TYPE_CHECKING:
    from sources.quickbooks.token_store import TokenRecord


def _age(moment: datetime | None) -> str:
    if moment is None:
        return "never"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = (datetime.now(UTC) - moment).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit} ago"
    return f"{seconds:.0f} s ago"


def warehouse_line(connector: Connector) -> str:
    """Which warehouse the loads go to: the DuckDB file, or the PostgreSQL URL without its password."""
    settings = connector.settings
    engine = "PostgreSQL" if settings.warehouse_url else "DuckDB"
    return f"warehouse: {settings.warehouse_label} ({engine}; dlt state in {settings.pipelines_path})"


def _push_and_error_lines(connector: Connector, realm_id: str) -> list[str]:
    """The last sync's notes, the last push in the words `qbo push` ends with, and the last error only
    while it is the realm's latest outcome (a sync, backfill or push that succeeded since: it is fixed)."""
    lines = []
    synced = connector.store.runs.last_ok(realm_id)
    # what the last good sync noted (a load set aside, an entity QBO would not give) outlives its errors
    lines += (
        [f"  noted by that sync: {note}" for note in (synced.notes or "").splitlines()[:3]] if synced else []
    )
    push = connector.store.runs.last(realm_id, kind="push")
    if push:
        said = (push[0].notes or "nothing to push").splitlines()[0]
        failed = " (stopped: `qbo push` resumes it)" if push[0].status != "ok" else ""
        lines.append(f"  last push: {_age(push[0].finished_at)}: {said}{failed}")
    e = connector.store.errors.current(realm_id, connector.store.runs)
    if e is not None:
        tid = f" intuit_tid {e['intuit_tid']}" if e["intuit_tid"] else ""
        lines.append(f"  last error: {_age(e['occurred_at'])}: {e['code']} {e['message']}{tid}")
    return lines


def qbo_line(connector: Connector, record: TokenRecord) -> str:
    """Which QBO the realm is served by: where it was connected (or the configured one, for a
    connection stored before that was kept), and the override when --qbo-base-url points elsewhere."""
    settings = connector.settings
    if record.location is None:
        return f"{settings.base_url} (where it was connected is not recorded; reconnect to record it)"
    used = record.location.label
    if settings.base_url_given and settings.base_url != record.location.api_base_url:
        return f"{used}; this command: --qbo-base-url {settings.base_url}"
    return used


def status_lines(connector: Connector) -> list[str]:
    records = connector.connections()
    if not records:
        return ["no realm connected; connect one with `qbo connect`", warehouse_line(connector)]
    warnings = connector.tokens.hard_expiry_warnings()
    lines = []
    for record in records:
        state = "NEEDS RECONNECT" if record.needs_reconnect else "connected"
        lines.append(f"realm {record.realm_id} (tenant {record.tenant_id}): {state}")
        lines.append(f"  QBO: {qbo_line(connector, record)}")
        lines.append(
            f"  access token expires {record.access_token_expires_at:%Y-%m-%d %H:%M} UTC; refresh token "
            f"{record.refresh_token_expires_at:%Y-%m-%d}"
        )
        if record.needs_reconnect and record.status_reason:
            lines.append(f"  why: {record.status_reason}")
        if record.realm_id in warnings:
            lines.append(f"  WARNING: {warnings[record.realm_id]}")
        last = connector.store.runs.last_ok(record.realm_id)
        if last is None:
            lines.append("  last successful sync: never")
        else:
            total = sum(last.rows.values())
            top = ", ".join(f"{k} {v:,}" for k, v in sorted(last.rows.items(), key=lambda kv: -kv[1])[:6])
            lines.append(
                f"  last successful sync: {_age(last.finished_at)}, {total:,} rows"
                f"{' (' + top + ')' if top else ''}, {last.requests} requests"
            )
        lines += _push_and_error_lines(connector, record.realm_id)
    events = connector.store.events.counts()
    if events:
        counts = ", ".join(f"{n:,} {status}" for status, n in sorted(events.items()))
        waiting = " (run `qbo webhooks drain`)" if events.get("pending") else ""
        lines.append(f"webhook events: {counts}{waiting}")
    lines.append(warehouse_line(connector))
    return lines
