"""`qbo push`: platform-mastered records to QBO, from the outbound models, idempotent and conflict-aware.

Per realm: the plan (plan.py) says what goes; each entity goes in reference order (customers, vendors
and items before the invoices, bills and payments that name them) through a dlt pipeline whose
destination is QBO's /batch endpoint (destination.py), inside the realm's request budget. A push
killed half-way is finished first on the next run, batch for batch, with the same requestids. Every
outcome lands in the warehouse: the push log (raw_push.push_log, read by the mapping models) and the
records as QBO answered them (raw_qbo), so the next transform sees QBO as it now is.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import dlt
from dlt.pipeline.exceptions import PipelineStepFailed

from pipelines.mapping.order import ORDER
from pipelines.push.destination import MAX_BATCH, Sink
from pipelines.push.operation import Operation
from pipelines.push.plan import Plan, read_plan
from pipelines.runtime.landing import land_push_results
from pipelines.runtime.progress import progress_of
from pipelines.runtime.warehouse import Warehouse, root_cause
from pipelines.runtime.warehouse_sql import open_warehouse

if TYPE_CHECKING:
    from pipelines.runtime.connector import Connector

log = logging.getLogger("qbo.push")
# the summary's words for QBO's answers: the plan's own `invalid` (pre-flight, never sent) is not these
SAID = {"invalid": "invalid (refused by QBO)"}


@dataclass
class RealmPush:
    realm_id: str
    requests: int = 0  # /batch requests that got an answer
    retries: int = 0  # requests sent again after a 429, 5xx or transport failure
    outcomes: dict[str, int] = field(default_factory=dict)
    stopped: str | None = None  # why the realm's push stopped early (circuit open, ...)


def plan(
    connector: Connector, realms: list[str] | None = None, entities: Sequence[str] | None = None
) -> Plan:
    store = connector.store
    known: dict[tuple[str, str, str], str] = {}
    for realm in realms or connector.realms():
        known |= store.push_log.created_links(realm)
    return read_plan(
        connector.settings.warehouse_target,
        realms=realms,
        entities=list(entities) if entities else None,
        approved=store.approvals.approved() | store.review.approved(),  # `qbo approve`, and reviewers
        pushed=store.push_log.pushed(),
        known_links=known,
    )


def push_all(
    connector: Connector,
    realms: list[str] | None = None,
    entities: Sequence[str] | None = None,
    echo: Callable[[str], None] = print,
    load_lock: AbstractContextManager[Any] | None = None,
) -> list[RealmPush]:
    """Push every connected realm's outbound records (or those asked for); land the results.
    `load_lock` (a flow's writer slot) is held while the warehouse is read or written, not while QBO
    answers: held around the whole push it would invert the order a sync takes its locks in."""
    guard = load_lock or nullcontext()
    chosen = connector.realms(realms)
    with guard:
        the_plan = plan(connector, chosen, entities)
    for line in the_plan.summary():
        echo(line)
    for op in the_plan.by_status("invalid"):  # refused before sending: on record like QBO's refusals
        connector.store.errors.record_dto(op.error or {}, op.realm_id, op.entity, "push")
        connector.store.push_log.record(
            pushed_at=datetime.now(UTC),
            tenant_id=op.row["tenant_id"],
            realm_id=op.realm_id,
            entity=op.entity,
            platform_id=op.row["platform_id"],
            qbo_id=op.row.get("qbo_id"),
            operation=op.operation,
            request_id=f"preflight:{op.row['payload_hash']}"[:64],
            bid=op.row["platform_id"][:16],
            payload_hash=op.row["payload_hash"],
            outcome="invalid",
            error=op.error,
        )
    results = []
    for realm_id in chosen:
        ops = [op for op in the_plan.operations if op.realm_id == realm_id and op.status == "send"]
        result = push_realm(connector, realm_id, ops, echo, guard)
        results.append(result)
        sent = ", ".join(
            f"{n} {SAID.get(outcome, outcome)}" for outcome, n in sorted(result.outcomes.items())
        )
        records = sum(result.outcomes.values())
        said = f"{records} record{'s' if records != 1 else ''} pushed: {sent}" if records else "nothing sent"
        echo(f"realm {realm_id}: {said} in {result.requests} batch requests")
        if result.stopped:
            echo(f"realm {realm_id}: STOPPED: {result.stopped}")
    # what QBO took makes the decisions behind it final: no longer to be withdrawn
    sent = connector.store.push_log.results(landed=False)
    connector.store.review.mark_pushed(
        (r["entity"], r["tenant_id"], r["platform_id"]) for r in sent if r["outcome"] == "ok"
    )
    land_push_results(connector, load_lock)
    return results


def push_realm(
    connector: Connector,
    realm_id: str,
    ops: list[Operation],
    echo: Callable[[str], None],
    load_lock: AbstractContextManager[Any] | None = None,
) -> RealmPush:
    settings = connector.settings
    bar = progress_of(echo)
    with load_lock or nullcontext():
        lookup = _lookup(settings.warehouse_target)
    sink = Sink(
        connector.client(realm_id),
        connector.store,
        lookup,
        datetime.now(UTC).date(),
        answered=lambda n: bar.advance(f"realm {realm_id}: push", n, total=len(ops), unit="operations"),
    )

    def qbo(items: Any, table: Any) -> None:  # dlt's destination callable: a batch of at most 30
        sink(items, table)

    destination = dlt.destination(
        qbo,
        name="qbo",
        batch_size=MAX_BATCH,
        loader_file_format="typed-jsonl",
        naming_convention="direct",
        max_table_nesting=0,
        loader_parallelism_strategy="sequential",
    )
    pipeline = dlt.pipeline(
        pipeline_name=f"qbo_push_{realm_id}",
        destination=destination,
        pipelines_dir=str(settings.pipelines_path),
        dataset_name="push",
    )
    result = RealmPush(realm_id)
    try:
        if pipeline.has_pending_data:  # a push killed half-way: its unfinished batches go first, as they were
            echo(f"realm {realm_id}: finishing an interrupted push first")
            pipeline.load()
            ops = _not_answered(ops, sink.results)
        links = connector.store.push_log.created_links(realm_id)
        for entity in ORDER:
            group = [op for op in ops if op.entity == entity]
            if not group:
                continue
            items = [_item(op, links) for op in group]
            pipeline.run(items, table_name=entity.lower(), write_disposition="append")
            links = connector.store.push_log.created_links(realm_id)
    except PipelineStepFailed as exc:
        cause = root_cause(exc)
        connector.store.errors.record(cause, realm_id, None, operation="push")
        result.stopped = str(cause)
    result.requests, result.outcomes = sink.sent, dict(sink.outcomes)
    result.retries = sink.client.stats.retries
    return result


def _not_answered(
    ops: list[Operation], results: dict[tuple[str, str, str], dict[str, Any]]
) -> list[Operation]:
    """The planned operations the finished interrupted push did not answer: those it did are not sent
    again (nor counted twice); a record changed since is sent, with its new payload."""
    return [op for op in ops if results.get(op.key, {}).get("payload_hash") != op.row["payload_hash"]]


def _item(op: Operation, links: dict[tuple[str, str, str], str]) -> dict[str, Any]:
    row = op.row
    return {
        "entity": op.entity,
        "tenant_id": row["tenant_id"],
        "platform_id": row["platform_id"],
        "qbo_id": row.get("qbo_id"),
        "operation": op.operation,
        "payload_hash": row["payload_hash"],
        "body": json.dumps(op.body(links), sort_keys=True, default=str),
        "synced": json.dumps(op.synced, sort_keys=True),
    }


def _lookup(warehouse: Warehouse) -> Callable[[str, str], str | None]:
    """Terms and payment methods by QBO Id, from the warehouse: what a re-read record is compared in."""
    names: dict[tuple[str, str], str] = {}
    with open_warehouse(warehouse) as db:
        for table, model in (("term", "stg_qbo__terms"), ("payment_method", "stg_qbo__payment_methods")):
            for qbo_id, name in db.execute(f"SELECT qbo_id, name FROM staging.{model}").fetchall():
                names[(table, str(qbo_id))] = name
    return lambda table, qbo_id: names.get((table, qbo_id))
