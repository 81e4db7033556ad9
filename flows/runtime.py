"""What every flow needs: the connector `qbo` would build, an `echo` into the run log, the I/O task."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from prefect import Task, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import TaskRun
from prefect.states import State
from prefect.tasks import exponential_backoff

from pipelines.runtime.connector import Connector
from pipelines.runtime.settings import ConfigError, Settings
from pipelines.runtime.warehouse import root_cause
from sources.quickbooks.catalog import ENTITIES
from sources.quickbooks.errors import AuthorizationError, ReconnectRequired
from sources.quickbooks.token_store import TokenStoreError


def flow_connector() -> Connector:
    """Settings as `qbo` resolves them (.dlt/ files and environment): a deployment's runs and the
    command line see the same warehouse, store and credentials."""
    return Connector(Settings.resolve())


def run_echo() -> Callable[[str], None]:
    """Progress lines of the plain jobs go to the current flow or task run's log."""
    return get_run_logger().info


def known_entities(
    entities: Sequence[str] | None, allowed: Sequence[str] = tuple(ENTITIES)
) -> list[str] | None:
    """Refuse unknown entity names before any task starts: retrying a typo only wastes the retries."""
    if not entities:
        return None
    unknown = [e for e in entities if e not in allowed]
    if unknown:
        raise ValueError(f"unknown entities {', '.join(unknown)}; choose from {', '.join(allowed)}")
    return list(entities)


# what no retry fixes: settings, a warehouse or model not built yet, a consent gone (realms not
# connected are refused by the flows before any task starts)
PERMANENT: tuple[type[BaseException], ...] = (
    ConfigError,
    FileNotFoundError,
    ReconnectRequired,
    AuthorizationError,  # a token for another realm or scope: reconnect
    TokenStoreError,
)


def worth_retrying(task: Task[..., Any], task_run: TaskRun, state: State[Any]) -> bool:
    """The retry condition of the I/O tasks: everything but the failures in `PERMANENT`, which would
    only fail again after the delay (the message already says what to do)."""
    failure = state.data if isinstance(state.data, BaseException) else state.result(raise_on_failure=False)
    return not isinstance(failure, BaseException) or not isinstance(root_cause(failure), PERMANENT)


# what the client could not absorb request by request (an outage of minutes): 30 s, then 60 s
IO_RETRIES = 2


def io_task(name: str, **options: Any) -> Any:
    """The decorator of a task that talks to QBO or the stores: retried with back-off and jitter, never
    for what a retry cannot fix (`worth_retrying`); never cached (a sync must always run)."""
    return task(
        name=name,
        retries=IO_RETRIES,
        retry_delay_seconds=exponential_backoff(backoff_factor=30),
        retry_jitter_factor=0.5,
        retry_condition_fn=worth_retrying,
        cache_policy=NO_CACHE,
        tags=["qbo", "io"],
        **options,
    )
