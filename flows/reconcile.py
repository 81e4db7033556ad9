"""The nightly reconciliation: sync every realm, transform, deliver QBO's changes to the platform's
feed, then write the drift report for finance.

The sync is the incremental one, a full CDC sweep of every connected realm (CDC reaches 30 days
back, so a nightly sweep never loses a delete). A realm that fails does not stop the night: the
transform and the report still run on what was loaded, then the run fails naming the realm.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.deliver import deliver_task
from flows.runtime import flow_connector, run_echo
from flows.sync import sync_flow
from flows.transform import transform_task
from flows.writer import ensure_concurrency_limits, warehouse_writer
from pipelines.report.drift import read, write
from pipelines.runtime.connector import Connector

REPORTS_DIR = Path("var/reports")


@task(name="drift-report", retries=0, cache_policy=NO_CACHE, tags=["qbo"])
def report_task(connector: Connector, out: Path) -> dict[str, str]:
    """Read the sync marts (under a DuckDB file's writer slot: another process's writer would refuse
    even a read-only open of the file) and write the HTML, XLSX and CSV files into `out`."""
    echo = run_echo()
    with warehouse_writer(connector.settings):
        report = read(connector.settings.warehouse_target)
    paths = write(report, out)
    for label, count, _ in report.figures:
        echo(f"  {label:<28}{count:>8,}")
    echo(f"drift report: {paths['html']} (and {paths['xlsx'].name}, CSV files beside it)")
    return {kind: str(path) for kind, path in paths.items()}


@flow(name="qbo-reconcile")
def reconcile_flow(
    reports_dir: str = str(REPORTS_DIR), parallel: int = 2, as_of: date | None = None
) -> dict[str, str]:
    """Sync all realms, dbt build, deliver QBO's changes to the platform's feed, drift report into
    `reports_dir`/<day>/ (the UTC day of the run,
    or `as_of`, which the transform also judges aging on). Returns the report's files by kind."""
    ensure_concurrency_limits()
    echo = run_echo()
    day = as_of or datetime.now(UTC).date()
    synced = sync_flow(parallel=parallel, return_state=True)
    if not synced.is_completed():
        echo(f"sync: {synced.message}; transforming and reporting what was loaded")
    connector = flow_connector()
    transform_task(connector, as_of)
    deliver_task(connector, as_of)
    paths = report_task(connector, Path(reports_dir) / day.isoformat())
    if not synced.is_completed():
        synced.result()  # raises the sync's failure: the night's run is not a success
    return paths
