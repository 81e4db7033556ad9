"""The push flow: platform-mastered records to QBO (reverse ETL), or the plan of what would go.

The push is retried as a whole: its requestids are deterministic, so a batch sent again is answered
from QBO's idempotency cache rather than applied twice, and batches already answered are not sent.
It holds the writer slot throughout, because it reads the outbound models and lands every answer in
the warehouse between its HTTP batches.
"""

from __future__ import annotations

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.runtime import flow_connector, io_task, known_entities, run_echo
from flows.writer import ensure_concurrency_limits, warehouse_writer
from pipelines.mapping.order import ORDER
from pipelines.push import batch as push_job
from pipelines.runtime.connector import Connector


class PushStopped(RuntimeError):
    """A realm's push stopped early (the circuit opened, a batch failed terminally)."""


@io_task("push")
def push_task(
    connector: Connector, realm_ids: list[str], entities: list[str] | None
) -> dict[str, dict[str, int]]:
    echo = run_echo()
    writer = warehouse_writer(connector.settings)
    results = push_job.push_all(connector, realm_ids, entities, echo=echo, load_lock=writer)
    stopped = [f"realm {r.realm_id}: {r.stopped}" for r in results if r.stopped]
    if stopped:
        raise PushStopped("; ".join(stopped))
    for result in results:
        echo(f"realm {result.realm_id}: {result.requests} batch requests, {result.retries} retried")
    return {result.realm_id: dict(result.outcomes) for result in results}


@task(name="push-plan", retries=0, cache_policy=NO_CACHE, tags=["qbo"])
def plan_task(connector: Connector, realm_ids: list[str], entities: list[str] | None) -> list[str]:
    """What a push would do, calling nothing (it only reads the warehouse)."""
    with warehouse_writer(connector.settings):
        the_plan = push_job.plan(connector, realm_ids, entities)
    lines = the_plan.summary() + [line for r in the_plan.realms() for line in the_plan.not_sent(r)]
    echo = run_echo()
    for line in lines:
        echo(line)
    return lines


@flow(name="qbo-push")
def push_flow(
    realms: list[str] | None = None, entities: list[str] | None = None, dry_run: bool = False
) -> dict[str, dict[str, int]]:
    """Push outbound records of every connected realm (or `realms`) after `qbo transform`; with
    `dry_run`, log the plan and send nothing. Returns the outcomes per realm (created, updated, ...)."""
    selected = known_entities(entities, ORDER)
    ensure_concurrency_limits()
    connector = flow_connector()
    chosen = connector.realms(realms)
    if dry_run:
        plan_task(connector, chosen, selected)
        return {}
    return push_task(connector, chosen, selected)
