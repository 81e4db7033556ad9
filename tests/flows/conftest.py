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
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import duckdb
import pytest
import requests
from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import TaskRun
from prefect.client.schemas.sorting import TaskRunSort
from prefect.testing.utilities import prefect_test_harness

from pipelines.config import SECTION, Settings
from pipelines.connector import Connector
from pipelines.demo import sandbox_settings
from pipelines.sync import DATASET
from sandbox.background import RunningSandbox, running
from sandbox.http_app import Sandbox
from sandbox.oauth import ACCOUNTING_SCOPE
from sources.quickbooks import table_name

REALMS = ("6101", "6102")  # two tiny companies, connected for the whole package
TENANT = "flows-tenant"
# a few entities keep each sync to seconds; every entity is synced in tests/quickbooks
ENTITIES = ["Customer", "Invoice", "Payment"]


@pytest.fixture(scope="package", autouse=True)
def prefect_server() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=60):
        yield


@dataclass
class World:
    """The sandbox, the settings the flows resolve, and a connector built from them."""

    server: RunningSandbox
    connector: Connector
    workdir: Path

    @property
    def sandbox(self) -> Sandbox:
        return self.server.sandbox

    def connect(self, realm_id: str) -> None:
        """The authorization-code flow the way `qbo connect --code` finishes it."""
        redirect = requests.get(
            f"{self.server.base_url}/connect/oauth2",
            params={
                "client_id": self.server.client_id,
                "response_type": "code",
                "scope": ACCOUNTING_SCOPE,
                "redirect_uri": self.connector.settings.redirect_uri,
                "realmId": realm_id,
            },
            allow_redirects=False,
            timeout=10,
        )
        code = redirect.headers["location"].split("code=")[1].split("&")[0]
        self.connector.tokens.connect(TENANT, code, realm_id)

    def mutate(self, realm_id: str, **body: Any) -> None:
        answer = requests.post(
            f"{self.server.base_url}/_sandbox/realms/{realm_id}/mutate", json=body, timeout=30
        )
        assert answer.status_code == 200, answer.text

    def truth(self, realm_id: str, entity: str) -> dict[str, tuple[str | None, bool]]:
        return self.sandbox.store.versions(realm_id, entity)

    def warehouse_rows(self, realm_id: str, entity: str) -> dict[str, tuple[str | None, bool]]:
        with duckdb.connect(str(self.connector.settings.warehouse), read_only=True) as db:
            rows = db.execute(
                f"SELECT id, sync_token, _deleted FROM {DATASET}.{table_name(entity)} WHERE realm_id = ?",
                [realm_id],
            ).fetchall()
        return {i: (None if deleted else token, bool(deleted)) for i, token, deleted in rows}


def env_for(settings: Settings) -> dict[str, str]:
    values = {
        "base_url": settings.base_url,
        "discovery_url": settings.discovery_url,
        "client_id": settings.client_id,
        "client_secret": settings.client_secret,
        "redirect_uri": settings.redirect_uri,
        "token_encryption_keys": ",".join(settings.token_encryption_keys),
        "store_url": settings.store_url,
        "budget_url": settings.budget_url,
        "warehouse": str(settings.warehouse),
        "pipelines_dir": str(settings.pipelines_path),
        "tenant_id": TENANT,
    }
    return {f"{SECTION}.{k}".upper().replace(".", "__"): str(v) for k, v in values.items() if v}


@pytest.fixture(scope="package")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    workdir = tmp_path_factory.mktemp("flows")
    sandbox = Sandbox()
    for seed, realm_id in enumerate(REALMS, start=1):
        sandbox.add_realm(realm_id, "tiny", seed)
    with running(sandbox) as server, pytest.MonkeyPatch.context() as env:
        settings = sandbox_settings(server, workdir)
        for name, value in env_for(settings).items():
            env.setenv(name, value)
        world = World(server, Connector(Settings.resolve()), workdir)
        assert world.connector.settings.warehouse == settings.warehouse  # the flows see these settings
        for realm_id in REALMS:
            world.connect(realm_id)
        yield world


def task_runs(flow_run_id: UUID) -> dict[str, TaskRun]:
    """The task runs of a flow run, by name (e.g. "sync realm 6101")."""
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
            sort=TaskRunSort.EXPECTED_START_TIME_ASC,  # the server refuses None for both
            limit=100,
        )
    return {run.name: run for run in runs}
