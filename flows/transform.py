"""The transform flow: dbt build over the warehouse (mappings, drift, conflicts, outbound, finance).

Never retried: a model or test that failed fails the same way until someone changes the data or the
project, and the run log lists which node failed and why.
"""

from __future__ import annotations

from datetime import date

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.runtime import flow_connector, run_echo
from flows.writer import ensure_concurrency_limits, warehouse_writer
from pipelines.runtime.connector import Connector
from pipelines.runtime.policy_config import mastering_policy
from pipelines.transform.dbt_build import TransformResult, transform


class TransformFailed(RuntimeError):
    """dbt reported failures (or could not run); the message is its summary."""


@task(name="transform", retries=0, cache_policy=NO_CACHE, tags=["qbo"])
def transform_task(
    connector: Connector, as_of: date | None = None, select: list[str] | None = None
) -> TransformResult:
    """dbt build (or the `select`ed nodes) with the configured mastering policy, holding the writer
    slot for the whole build: dbt-duckdb keeps the file open until it returns."""
    echo = run_echo()
    policy = mastering_policy()
    with warehouse_writer(connector.settings):
        result = transform(connector, policy=policy, as_of=as_of, select=select, echo=echo)
    for line in result.summary().splitlines():
        echo(line)
    slowest = sorted(result.timings.items(), key=lambda item: -item[1])[:3]
    if slowest:
        echo("slowest nodes: " + ", ".join(f"{node} {seconds:.1f} s" for node, seconds in slowest))
    if not result.success:
        raise TransformFailed(result.summary())
    return result


@flow(name="qbo-transform")
def transform_flow(as_of: date | None = None, select: list[str] | None = None) -> dict[str, int]:
    """Build the dbt project over the configured warehouse; returns dbt's counts per status
    (e.g. {"success": 60, "pass": 200}). `as_of` judges overdue and aging on that day (default: today)."""
    ensure_concurrency_limits()
    return transform_task(flow_connector(), as_of, select).statuses
