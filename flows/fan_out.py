"""Fanning a flow out over the work pool: one flow run per realm, picked up by whichever worker is free.

In one process (`qbo schedule`, or a flow run on one worker) the realms of a sync are task runs in
threads. With a PostgreSQL warehouse and several workers (`prefect worker start --pool qbo` on several
machines), the hourly sync instead starts a run of the `sync-realm` deployment per realm and waits for
them: each lands on a worker with a free slot, so the realms spread over the machines. What they share is
outside Prefect and already safe across processes: the request budget (`budget_url`: Redis or
PostgreSQL), the token store (one refresh per realm, under its row lock) and the warehouse.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from prefect import get_client
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment

POLL_SECONDS = 2.0
WAIT_HOURS = 6.0  # a realm's first sync of a large company fits well inside; a stuck run is named


class FanOutTimeout(RuntimeError):
    """Flow runs that did not finish in time (their workers may be gone); names them."""


def start_each(deployment: str, parameters: Mapping[str, dict[str, Any]]) -> dict[str, UUID]:
    """A run of `deployment` per key, as subflows of the current run (the UI shows them under it);
    returns the run ids. Nothing waits here: the workers take them."""
    started = {}
    for key, params in parameters.items():
        run: FlowRun = run_deployment(  # type: ignore[assignment]  # sync call: returns the run
            name=deployment, parameters=params, timeout=0, as_subflow=True, tags=["qbo", "fan-out"]
        )
        started[key] = run.id
    return started


def wait_all(runs: Mapping[str, UUID], wait_seconds: float = WAIT_HOURS * 3600) -> dict[str, FlowRun]:
    """Poll until every run is final; returns each key's run (its state says how it ended)."""
    deadline = time.monotonic() + wait_seconds
    final: dict[str, FlowRun] = {}
    with get_client(sync_client=True) as client:
        while len(final) < len(runs):
            for key, run_id in runs.items():
                if key not in final:
                    run = client.read_flow_run(run_id)
                    if run.state is not None and run.state.is_final():
                        final[key] = run
            if len(final) < len(runs):
                if time.monotonic() > deadline:
                    pending = sorted(set(runs) - set(final))
                    raise FanOutTimeout(
                        f"flow runs of {', '.join(pending)} did not finish within "
                        f"{wait_seconds / 3600:.1f} h; "
                        "check that a worker serves the pool (`prefect worker start --pool qbo`)"
                    )
                time.sleep(POLL_SECONDS)
    return final
