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
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import dlt
from dlt.pipeline.exceptions import PipelineStepFailed

from pipelines.mapping.order import ORDER
from pipelines.push.behind import LandBehind
from pipelines.push.destination import MAX_BATCH, Sink
from pipelines.push.operation import Operation
from pipelines.push.plan import HELD, LOOK, SHOWN, WHY, Plan, read_plan, refusal_lines, tally
from pipelines.runtime.landing import land_push_results
from pipelines.runtime.progress import progress_of
from pipelines.runtime.warehouse import Warehouse, root_cause
from pipelines.runtime.warehouse_sql import open_warehouse

if TYPE_CHECKING:
    from pipelines.runtime.connector import Connector

log = logging.getLogger("qbo.push")
QBO_SAID = {"invalid": "refuse", "conflict": "conflict", "desynced": "desynced"}  # QBO's answers, as tallied


@dataclass
class RealmPush:
    realm_id: str
    requests: int = 0  # /batch requests that got an answer
    retries: int = 0  # requests sent again after a 429, 5xx or transport failure
    outcomes: dict[str, int] = field(default_factory=dict)
    stopped: str | None = None  # why the realm's push stopped early (circuit open, ...)
    # each record QBO did not take: entity, platform_id, qbo_id, operation, outcome, error (its DTO)
    refusals: list[dict[str, Any]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)  # the plan's words: created, refused, held
    answers: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)  # each record's last


def plan(
    connector: Connector, realms: list[str] | None = None, entities: Sequence[str] | None = None
) -> Plan:
    """What a push would do, reading the warehouse and the store only; a record refused before and
    unchanged carries the error it was refused with."""
    store = connector.store
    known: dict[tuple[str, str, str], str] = {}
    for realm in realms or connector.realms():
        known |= store.push_log.created_links(realm)
    the_plan = read_plan(
        connector.settings.warehouse_target,
        realms=realms,
        entities=list(entities) if entities else None,
        approved=store.approvals.approved() | store.review.approved(),  # `qbo approve`, and reviewers
        pushed=store.push_log.pushed(),
        known_links=known,
    )
    refusals = store.push_log.refusals()
    for op in the_plan.by_status("refused"):
        op.error = (refusals.get((*op.key, op.row["payload_hash"])) or {}).get("error")
    return the_plan


def push_all(
    connector: Connector,
    realms: list[str] | None = None,
    entities: Sequence[str] | None = None,
    echo: Callable[[str], None] = print,
    load_lock: AbstractContextManager[Any] | None = None,
) -> list[RealmPush]:
    """Push every connected realm's outbound records (or those asked for); land the results.
    `load_lock` (a flow's writer slot) is held while the warehouse is read or written, not while QBO
    answers: held around the whole push it would invert the order a sync takes its locks in.

    What is said: the plan in the words `--dry-run` uses, then per realm the result in the same words
    and counts (created 3, updated 2, refused 1), and each refused record with its error DTO."""
    guard = load_lock or nullcontext()
    chosen = connector.realms(realms)
    with guard:
        the_plan = plan(connector, chosen, entities)
    for line in the_plan.summary(lead="to push: "):
        echo(line)
    refused = the_plan.by_status("invalid")  # refused before sending: on record like QBO's refusals
    for op in refused:
        connector.store.errors.record_dto(op.error or {}, op.realm_id, op.entity, "push")
    connector.store.push_log.record_many(
        [
            {
                "pushed_at": datetime.now(UTC),
                "tenant_id": op.row["tenant_id"],
                "realm_id": op.realm_id,
                "entity": op.entity,
                "platform_id": op.row["platform_id"],
                "qbo_id": op.row.get("qbo_id"),
                "operation": op.operation,
                "request_id": f"preflight:{op.row['payload_hash']}"[:64],
                "bid": op.row["platform_id"][:16],
                "payload_hash": op.row["payload_hash"],
                "outcome": "invalid",
                "error": op.error,
            }
            for op in refused
        ]
    )
    results = []
    behind = LandBehind(connector, load_lock)  # lands the outcomes so far while a batch call waits
    try:
        for realm_id in chosen:
            started = datetime.now(UTC)
            ops = [op for op in the_plan.operations if op.realm_id == realm_id and op.status == "send"]
            result = push_realm(connector, realm_id, ops, echo, guard, behind)
            results.append(result)
            _tally(result, the_plan, ops)
            for line in _result_lines(result, the_plan):
                echo(line)
            said = tally(result.counts, past=True, by_qbo=_by_qbo(result))  # what `qbo status` repeats
            notes = [said] + ([f"stopped: {result.stopped}"] if result.stopped else [])
            status = "failed" if result.stopped else "ok"
            connector.store.runs.record(
                realm_id, "push", started, status, dict(result.counts), result.requests, notes
            )
    finally:
        behind.close()  # every realm's push lands behind its waits; none after this
    # what QBO took makes the decisions behind it final: no longer to be withdrawn
    # (those landed behind the push were made final then; an answer recorded while that landing ran
    # may have landed unmarked: every record this push got taken is marked here if it was not)
    sent = connector.store.push_log.results(landed=False)
    taken = {key for r in results for key, said in r.answers.items() if said["outcome"] == "ok"}
    connector.store.review.mark_pushed(
        {(r["entity"], r["tenant_id"], r["platform_id"]) for r in sent if r["outcome"] == "ok"}
        | (taken - behind.marked)
    )
    land_push_results(connector, load_lock)
    return results


def _tally(result: RealmPush, the_plan: Plan, ops: list[Operation]) -> None:
    """The realm's result in the plan's words: each sent record by QBO's last answer, what pre-flight
    refused, what was held back, and what a stopped push did not send."""
    counts: Counter[str] = Counter()
    planned = the_plan.counts(result.realm_id)
    counts["refuse"] = planned.get("refuse", 0)
    for word in HELD:
        counts[word] = planned.get(word, 0)
    answered = 0
    for key, outcome in result.answers.items():
        answered += 1
        counts[outcome["operation"] if outcome["outcome"] == "ok" else QBO_SAID[outcome["outcome"]]] += 1
        if outcome["outcome"] != "ok":
            entity, _, platform_id = key
            result.refusals.append(
                {"entity": entity, "platform_id": platform_id} | {k: outcome[k] for k in REFUSAL}
            )
    counts["unsent"] = max(0, len(ops) - answered)
    result.counts = +counts


REFUSAL = ("qbo_id", "operation", "outcome", "error")
BY_QBO = {"invalid": "refused by QBO", "conflict": "conflict: QBO changed it", "desynced": "gone from QBO"}


def _by_qbo(result: RealmPush) -> int:
    return sum(1 for r in result.refusals if r["outcome"] == "invalid")


def _result_lines(result: RealmPush, the_plan: Plan) -> list[str]:
    """The result line, the records refused (pre-flight's, then QBO's; SHOWN of them) and where to look."""
    realm = result.realm_id
    requests = f"{result.requests} batch request{'s' if result.requests != 1 else ''}"
    lines = [f"realm {realm}: {requests}: {tally(result.counts, past=True, by_qbo=_by_qbo(result))}"]
    if result.stopped:
        lines.append(f"realm {realm}: STOPPED: {result.stopped}")
    refused = [  # one group of lines per record: pre-flight's refusals, then QBO's
        refusal_lines(
            op.entity, op.row["platform_id"], op.row.get("qbo_id"), op.operation, WHY[op.status], op.error
        )
        for op in the_plan.by_status("invalid")
        if op.realm_id == realm
    ] + [
        refusal_lines(
            r["entity"], r["platform_id"], r["qbo_id"], r["operation"], BY_QBO[r["outcome"]], r["error"]
        )
        for r in result.refusals
    ]
    records = len(refused)
    if records:
        lines.append(f"realm {realm}: {records} record{'s' if records != 1 else ''} not taken:")
        lines += [line for group in refused[:SHOWN] for line in group]
        if records > SHOWN:
            lines.append(f"  ... and {records - SHOWN} more: `qbo push --refused` lists them all")
    if records or result.counts.get("refused"):
        lines.append(f"  where to look: {LOOK}")
    return lines


def push_realm(
    connector: Connector,
    realm_id: str,
    ops: list[Operation],
    echo: Callable[[str], None],
    load_lock: AbstractContextManager[Any] | None = None,
    behind: LandBehind | None = None,
) -> RealmPush:
    settings = connector.settings
    bar = progress_of(echo)
    with load_lock or nullcontext():
        lookup = _lookup(settings.warehouse_target)
    client = connector.client(realm_id)
    if behind is not None and client.budget is not None:
        client.budget = behind.watch(client.budget)  # a wait for the budget lands the outcomes so far
    sink = Sink(
        client,
        connector.store,
        lookup,
        datetime.now(UTC).date(),
        answered=lambda n: bar.advance(
            f"realm {realm_id}: push", n, total=len(ops), unit="operations", always=True
        ),
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
        for entity, group in runs(ops):
            items = [_item(op, links) for op in group]
            pipeline.run(items, table_name=entity.lower(), write_disposition="append")
            links = connector.store.push_log.created_links(realm_id)
    except PipelineStepFailed as exc:
        cause = root_cause(exc)
        connector.store.errors.record(cause, realm_id, None, operation="push")
        result.stopped = str(cause)
    result.requests, result.outcomes = sink.sent, dict(sink.outcomes)
    result.answers = dict(sink.results)
    result.retries = sink.client.stats.retries
    return result


def runs(ops: list[Operation]) -> list[tuple[str, list[Operation]]]:
    """The entity groups in the order they are sent: the reference order, except that the biggest
    group's records no other record of this push names go last, in a run of their own.

    Why: past the realm's batch allowance, the calls after the budget's last wait are limited by what
    happens between them, and each entity is a dlt run of its own (~0.5 s, more on a busy machine).
    In reference order a push of thousands of customers ended with one entity after another; now it
    ends with the customers nobody waits for, back to back. Still no record goes before one it names:
    what is moved is named by nothing in this push, and what it names went in the runs before."""
    named = {(entity, op.row["tenant_id"], platform_id) for op in ops for entity, platform_id, *_ in op.needs}
    groups = [(entity, [op for op in ops if op.entity == entity]) for entity in ORDER]
    groups = [(entity, group) for entity, group in groups if group]
    free = {entity: [op for op in group if op.key not in named] for entity, group in groups}
    last = max(free, key=lambda entity: len(free[entity]), default=None)
    if last is None or not free[last] or groups[-1][0] == last:
        return groups  # nothing to gain: the biggest group already ends the push
    moved = {id(op) for op in free[last]}
    first = [(entity, [op for op in group if id(op) not in moved]) for entity, group in groups]
    return [(entity, group) for entity, group in first if group] + [(last, free[last])]


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
