"""Every deployment of prefect.yaml served from one long-lived process: `qbo schedule`.

prefect.yaml is the one place the schedules, parameters and deployment concurrency limits are
written; this module reads it and builds a runner deployment of the flow each entrypoint names, so
`qbo schedule` and `prefect deploy` run the same thing. Served flows are imported by module path
(flows.sync.sync_flow), so runs work from wherever the process was started.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from prefect import Flow, serve
from prefect.client.schemas.objects import ConcurrencyLimitConfig
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron, Interval, RRule, Schedule
from prefect.settings import get_current_settings
from prefect.types.entrypoint import EntrypointType
from prefect.utilities.importtools import import_object

from flows.writer import ensure_concurrency_limits

PREFECT_YAML = Path(__file__).resolve().parents[1] / "prefect.yaml"
START_A_SERVER = (
    "start one with `prefect server start` (UI on http://127.0.0.1:4200), then "
    "export PREFECT_API_URL=http://127.0.0.1:4200/api"
)


class NoPrefectServer(RuntimeError):
    """Serving needs a Prefect server of its own: the temporary one never schedules runs."""


def deployment_specs(path: Path = PREFECT_YAML) -> list[dict[str, Any]]:
    """The `deployments` of a prefect.yaml, as written."""
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return list(document.get("deployments") or [])


def module_entrypoint(entrypoint: str) -> str:
    """`flows/sync.py:sync_flow` (prefect.yaml's form) -> `flows.sync:sync_flow` (an import path)."""
    path, name = entrypoint.rsplit(":", 1)
    return f"{path.removesuffix('.py').replace('/', '.')}:{name}"


def load_flow(entrypoint: str) -> Flow[..., Any]:
    flow = import_object(module_entrypoint(entrypoint))
    if not isinstance(flow, Flow):
        raise TypeError(f"{entrypoint} is not a Prefect flow")
    return flow


def schedules_of(spec: dict[str, Any]) -> list[Schedule]:
    """prefect.yaml's schedule entries (cron, interval in seconds, or rrule; timezone, active,
    parameters) as Prefect schedules."""
    found = []
    for item in spec.get("schedules") or []:
        options: dict[str, Any] = {
            "timezone": item.get("timezone"),
            "active": item.get("active", True),
            "parameters": item.get("parameters") or {},
        }
        if "cron" in item:
            found.append(Cron(item["cron"], day_or=item.get("day_or", True), **options))
        elif "interval" in item:
            found.append(Interval(item["interval"], **options))
        elif "rrule" in item:
            found.append(RRule(item["rrule"], **options))
        else:
            raise ValueError(
                f"deployment {spec.get('name')}: a schedule needs cron, interval or rrule: {item}"
            )
    return found


def concurrency_of(spec: dict[str, Any]) -> ConcurrencyLimitConfig | int | None:
    limit = spec.get("concurrency_limit")
    return ConcurrencyLimitConfig.model_validate(limit) if isinstance(limit, dict) else limit


def deployments(path: Path = PREFECT_YAML) -> list[RunnerDeployment]:
    """A runner deployment per prefect.yaml deployment: same name, schedules, parameters, limits."""
    built = []
    for spec in deployment_specs(path):
        flow = load_flow(spec["entrypoint"])
        built.append(
            flow.to_deployment(
                name=spec["name"],
                description=spec.get("description"),
                tags=spec.get("tags"),
                parameters=spec.get("parameters") or {},
                schedules=schedules_of(spec),
                concurrency_limit=concurrency_of(spec),
                entrypoint_type=EntrypointType.MODULE_PATH,
            )
        )
    return built


def serve_all(path: Path = PREFECT_YAML, limit: int | None = None) -> None:
    """Create the global concurrency limits, then run every deployment's schedule until interrupted
    (Ctrl-C pauses the schedules). `limit` caps the flow runs this process executes at once.

    The server PREFECT_API_URL names creates the scheduled runs: Prefect's temporary server (what
    it starts when the variable is unset) runs no scheduler, so nothing would ever run.
    """
    if not get_current_settings().api.url:
        raise NoPrefectServer(
            f"PREFECT_API_URL is not set and schedules need a Prefect server: {START_A_SERVER}"
        )
    ensure_concurrency_limits()
    serve(*deployments(path), limit=limit)
