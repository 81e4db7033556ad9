"""The flows against a Prefect test server and a sandbox on loopback, one of each for the package.

Prefect gets its own PREFECT_HOME (set before Prefect is imported) and a temporary SQLite API. The
flows build their connector the way `qbo` does, from the environment: the package's fixture points
SOURCES__QUICKBOOKS__* at the sandbox and a temp dir, and takes it all back when the package ends
(package scope, not session: the rest of the suite must not inherit the settings or the server).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="qbo-prefect-home-")
atexit.register(shutil.rmtree, os.environ["PREFECT_HOME"], ignore_errors=True)

from collections.abc import Iterator
from uuid import UUID

import pytest
from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import TaskRun
from prefect.client.schemas.sorting import TaskRunSort
from prefect.testing.utilities import prefect_test_harness

from pipelines.runtime.connector import Connector
from pipelines.runtime.settings import Settings
from sandbox.demo.world import World
from sandbox.demo.world import world as demo_world
from tests.demo_runs import MODELS_ONLY, settings_env

REALMS = ("6101", "6102")  # two tiny companies, connected for the whole package
TENANT = "flows-tenant"
# a few entities keep each sync to seconds; every entity is synced in tests/quickbooks
ENTITIES = ["Customer", "Invoice", "Payment"]


@pytest.fixture(scope="package", autouse=True)
def prefect_server() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=60):
        yield


@pytest.fixture(scope="package")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Two tiny companies, connected for the whole package; the connector is the one the flows resolve."""
    workdir = tmp_path_factory.mktemp("flows")
    companies = {realm_id: ("tiny", seed) for seed, realm_id in enumerate(REALMS, start=1)}
    with (
        demo_world(workdir, write=lambda _: None, companies=companies, tenant=TENANT, connect=False) as w,
        pytest.MonkeyPatch.context() as env,
    ):
        for name, value in (settings_env(w.settings, TENANT) | MODELS_ONLY).items():
            env.setenv(name, value)
        resolved = Settings.resolve()
        assert resolved.warehouse == w.settings.warehouse  # the flows see these settings
        w.connector = Connector(resolved)
        for realm_id in REALMS:
            w.connect_with_code(realm_id)
        yield w


def task_runs(flow_run_id: UUID) -> dict[str, TaskRun]:
    """The task runs of a flow run, by name (e.g. "sync realm 6101")."""
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
            sort=TaskRunSort.EXPECTED_START_TIME_ASC,  # the server refuses None for both
            limit=100,
        )
    return {run.name: run for run in runs}
