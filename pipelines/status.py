"""`qbo status`: what an engineer checks first: is each realm connected, synced, failing?"""

from __future__ import annotations

from datetime import UTC, datetime

from pipelines.runtime.connector import Connector


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


def status_lines(connector: Connector) -> list[str]:
    records = connector.connections()
    if not records:
        return ["no realm connected; connect one with `qbo connect`", warehouse_line(connector)]
    warnings = connector.tokens.hard_expiry_warnings()
    lines = []
    for record in records:
        state = "NEEDS RECONNECT" if record.needs_reconnect else "connected"
        lines.append(f"realm {record.realm_id} (tenant {record.tenant_id}): {state}")
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
        errors = connector.store.errors.recent(record.realm_id, limit=1)
        if errors:
            e = errors[0]
            tid = f" intuit_tid {e['intuit_tid']}" if e["intuit_tid"] else ""
            lines.append(f"  last error: {_age(e['occurred_at'])}: {e['code']} {e['message']}{tid}")
    events = connector.store.events.counts()
    if events:
        counts = ", ".join(f"{n:,} {status}" for status, n in sorted(events.items()))
        waiting = " (run `qbo webhooks drain`)" if events.get("pending") else ""
        lines.append(f"webhook events: {counts}{waiting}")
    lines.append(warehouse_line(connector))
    return lines
