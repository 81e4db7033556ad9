"""`qbo retention prune`: the integration store's history forgotten by age, so it does not grow forever.

An hourly sync of 100 realms writes 876,000 runs a year, and every push, webhook event and decision
adds its row. Each family keeps its rows for a number of days (`[retention]` in .dlt/config.toml,
env `RETENTION__<FAMILY>_DAYS`; 0 keeps them forever), and never what is still needed, whatever its
age: pending or claimed webhook events, outbox changes a tenant has not acknowledged, decisions not
final, a record's latest push outcome, a realm's last run. Each family's module in pipelines/store/
says what it keeps and deletes in bounded batches. The warehouse needs no pruning: its raw tables keep
one row per record (merged on realm and Id) plus the deleted marks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta

from pipelines.runtime.config_values import lookup
from pipelines.runtime.settings import ConfigError
from pipelines.store.integration_store import IntegrationStore
from pipelines.store.pruning import BATCH

SECTION = "retention"


def _env_name(key: str) -> str:
    return f"{SECTION}__{key}".upper()


@dataclass(frozen=True)
class Retention:
    """Days each family of operational rows is kept (0: forever), and the rows per delete statement."""

    events_days: int = 90  # processed webhook events and finished sync requests
    push_log_days: int = 90  # push outcomes (a record's latest always stays)
    runs_days: int = 90  # sync runs (a realm's last stays) and integration errors
    outbox_days: int = 90  # acknowledged changes in the platform's feed
    audit_days: int = 400  # what `qbo ask` and MCP were asked and ran
    decisions_days: int = 400  # final review decisions and the review queues' trend
    batch: int = BATCH

    @classmethod
    def resolve(cls, **overrides: int | None) -> Retention:
        """Defaults < config.toml < environment < the given overrides; a bad value is refused naming
        its key and environment variable."""
        values: dict[str, int] = {}
        for f in fields(cls):
            raw = overrides.get(f.name)
            if raw is None:
                try:
                    raw = lookup(f"{SECTION}.{f.name}")
                except Exception:
                    raw = None
            if raw in (None, ""):
                continue
            try:
                number = int(str(raw).strip())
            except ValueError:
                number = -1
            smallest = 1 if f.name == "batch" else 0
            if number < smallest:
                what = (
                    "a number of rows, at least 1"
                    if f.name == "batch"
                    else "a number of days (0 keeps forever)"
                )
                raise ConfigError(
                    f"{SECTION}.{f.name} must be {what}, got {raw!r} "
                    f"(set it in .dlt/config.toml [{SECTION}] or env {_env_name(f.name)})"
                )
            values[f.name] = number
        return cls(**values)


@dataclass(frozen=True)
class Pruned:
    """What one table lost (or would lose, in a dry run)."""

    family: str
    table: str
    days: int  # 0: kept forever, nothing looked at
    rows: int


def families(store: IntegrationStore) -> dict[str, list[Callable[..., dict[str, int]]]]:
    """Each family's name (its `<name>_days` setting) and the prunes of its tables."""
    return {
        "events": [store.events.prune],
        "push_log": [store.push_log.prune],
        "runs": [store.runs.prune, store.errors.prune],
        "outbox": [store.outbox.prune],
        "audit": [store.intents.prune_audit],
        "decisions": [store.review.prune],
    }


# every table a family prunes, for reporting a family kept forever by name
TABLES = {
    "events": ("qbo_webhook_events", "qbo_sync_requests"),
    "push_log": ("qbo_push_results",),
    "runs": ("qbo_sync_runs", "qbo_integration_errors"),
    "outbox": ("qbo_outbox",),
    "audit": ("qbo_intent_audit",),
    "decisions": ("qbo_sync_decisions", "qbo_review_snapshots"),
}


def prune(
    store: IntegrationStore,
    retention: Retention,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
) -> list[Pruned]:
    """Prune every family past its retention; one line per table, in a fixed order."""
    now = now or datetime.now(UTC)
    found: list[Pruned] = []
    for family, prunes in families(store).items():
        days = int(getattr(retention, f"{family}_days"))
        if days == 0:
            found += [Pruned(family, table, 0, 0) for table in TABLES[family]]
            continue
        before = now - timedelta(days=days)
        for prune_table in prunes:
            for table, rows in prune_table(before, batch=retention.batch, dry_run=dry_run).items():
                found.append(Pruned(family, table, days, rows))
    return found


def line(pruned: Pruned, dry_run: bool) -> str:
    """One table's result as `qbo retention prune` prints it."""
    if pruned.days == 0:
        return f"{pruned.table:<24} kept forever ({SECTION}.{pruned.family}_days = 0)"
    verb = "would remove" if dry_run else "removed"
    age = "1 day" if pruned.days == 1 else f"{pruned.days} days"
    return f"{pruned.table:<24} {verb} {pruned.rows:>8} rows older than {age}"
