"""Fixtures for the source: a sandbox realm, a client on it, a warehouse in a temp dir."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
import requests

from pipelines.runtime.warehouse import QBO_DATASET as DATASET
from pipelines.sync import SyncResult, sync_realm
from sandbox.background import RunningSandbox
from sources.quickbooks import table_name
from sources.quickbooks.catalog import ENTITIES
from sources.quickbooks.client import QboClient, RetryPolicy, StaticTokens

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Realm:
    """A sandbox company, a client connected to it, and the warehouse it syncs into."""

    server: RunningSandbox
    realm_id: str
    client: QboClient
    warehouse: Path
    pipelines_dir: Path

    def sync(self, **kwargs: Any) -> SyncResult:
        return sync_realm(self.client, warehouse=self.warehouse, pipelines_dir=self.pipelines_dir, **kwargs)

    def admin(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(method, f"{self.server.base_url}/_sandbox/{path}", timeout=60, **kwargs)

    def mutate(self, **body: Any) -> dict[str, Any]:
        response = self.admin("POST", f"realms/{self.realm_id}/mutate", json=body)
        assert response.status_code == 200, response.text
        return response.json()[body["entity"]]

    def doc(self, entity: str, entity_id: str) -> dict[str, Any]:
        realm = self.server.sandbox.store.realm(self.realm_id)
        assert realm is not None
        return self.server.sandbox.rules.read(realm, entity, entity_id)

    def truth(self, entity: str) -> dict[str, tuple[str | None, bool]]:
        """The sandbox's own view: Id -> (SyncToken, deleted), inactive rows included."""
        return self.server.sandbox.store.versions(self.realm_id, entity)

    def warehouse_rows(self, entity: str) -> dict[str, tuple[str | None, bool]]:
        with duckdb.connect(str(self.warehouse), read_only=True) as db:
            tables = {
                t[0]
                for t in db.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = ?", [DATASET]
                ).fetchall()
            }
            if table_name(entity) not in tables:
                return {}
            rows = db.execute(
                f"SELECT id, sync_token, _deleted FROM {DATASET}.{table_name(entity)} WHERE realm_id = ?",
                [self.realm_id],
            ).fetchall()
        return {i: (None if deleted else token, bool(deleted)) for i, token, deleted in rows}

    def assert_warehouse_equals_sandbox(self) -> None:
        for entity in ENTITIES:
            assert self.warehouse_rows(entity) == self.truth(entity), entity


def sync_process(realm: Realm) -> subprocess.Popen[str]:
    """`sync_child`: the realm synced by a process of its own (to be killed, or to count its imports)."""
    token = realm.client.tokens.access_token(realm.realm_id)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.quickbooks.sync_child",
            realm.server.base_url,
            realm.realm_id,
            str(realm.warehouse),
            str(realm.pipelines_dir),
        ],
        cwd=ROOT,
        env={**os.environ, "QBO_TEST_ACCESS_TOKEN": token},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def make_realm(server: RunningSandbox, tmp_path: Path) -> Callable[..., Realm]:
    def make(company: str = "demo", realm_id: str = "7001", seed: int = 1) -> Realm:
        created = requests.post(
            f"{server.base_url}/_sandbox/realms",
            json={"realm_id": realm_id, "company": company, "seed": seed},
            timeout=120,
        )
        assert created.status_code == 201, created.text
        tokens = server.connect(realm_id)
        client = QboClient(
            realm_id,
            server.base_url,
            StaticTokens(tokens["access_token"]),
            retry=RetryPolicy(max_attempts=12, base_seconds=0.01, cap_seconds=0.05),
        )
        return Realm(server, realm_id, client, tmp_path / "warehouse.duckdb", tmp_path / "pipelines")

    return make


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An integration store on SQLite, and on the local PostgreSQL when it is reachable."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/integration.sqlite"
    return request.getfixturevalue("postgres_url")


def rows_by_place(path: Path) -> dict[str, Counter[tuple[str, ...]]]:
    """Each table's rows without dlt's random keys: a record's rows by its Id, a child row by its
    record's Id and its positions in each list down to it (so a line moved or lost shows)."""
    place: dict[str, tuple[Any, ...]] = {}
    found: dict[str, Counter[tuple[str, ...]]] = {}
    with duckdb.connect(str(path), read_only=True) as db:
        tables = sorted(
            (t for (t,) in db.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ? "
                "AND table_name NOT LIKE '\\_dlt%' ESCAPE '\\'",
                [DATASET],
            ).fetchall()),
            key=lambda t: t.count("__"),
        )  # fmt: skip
        for table in tables:
            names = [
                c for (c,) in db.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = ? "
                    "AND table_name = ? ORDER BY column_name",
                    [DATASET, table],
                ).fetchall()
            ]  # fmt: skip
            nested = "_dlt_parent_id" in names
            keys = "_dlt_parent_id, _dlt_list_idx" if nested else "id, NULL"
            data = [c for c in names if not c.startswith("_dlt_")]
            picked = ", ".join(f'"{c}"' for c in ["_dlt_id", *data])
            counted: Counter[tuple[str, ...]] = Counter()
            for row_id, parent, position, *values in db.execute(
                f"SELECT {picked.split(', ', 1)[0]}, {keys}, {picked.split(', ', 1)[1]} "
                f"FROM {DATASET}.{table}"
            ).fetchall():
                place[row_id] = (*place[parent], position) if nested else (parent,)
                counted[(*map(str, place[row_id]), *map(str, values))] += 1
            found[table] = counted
    return found
