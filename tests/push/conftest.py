"""A connected sandbox company with the demo's platform records loaded and transformed: ready to push."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pytest
import requests

from pipelines.platform_load import load_platform
from pipelines.push.batch import RealmPush, push_all
from pipelines.sync import sync_all
from pipelines.transform.dbt_build import run_dbt
from sandbox.demo.platform_records import generate
from sandbox.demo.tour import DEMO_POLICY
from sandbox.demo.world import DEMO_TENANT, World, world


@dataclass
class Ready:
    world: World
    workdir: Path
    planted: dict[str, Any]
    output: list[str] = field(default_factory=list)

    @property
    def warehouse(self) -> Path:
        return self.world.settings.warehouse

    def sync(self) -> None:
        sync_all(self.world.connector, echo=self.output.append)

    def transform(self) -> None:
        """dbt run, not build: the models are tested in tests/transform; here only their data counts."""
        result = run_dbt(self.warehouse, policy=DEMO_POLICY, as_of=None, command="run")
        assert result.success, result.summary()

    def push(self) -> RealmPush:
        return push_all(self.world.connector, echo=self.output.append)[0]

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.warehouse), read_only=True) as db:
            return [tuple(r) for r in db.execute(sql, list(params)).fetchall()]

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = requests.request(
            method, f"{self.world.server.base_url}/_sandbox/{path}", timeout=60, **kwargs
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    def mutate(self, **body: Any) -> dict[str, Any]:
        return self.admin("POST", f"realms/{self.world.realm_id}/mutate", json=body)[body["entity"]]

    def qbo(self, entity: str, qbo_id: str) -> dict[str, Any]:
        found = self.world.sandbox.store.get(self.world.realm_id, entity, int(qbo_id), include_deleted=True)
        assert found is not None
        return found.doc

    def counts(self) -> dict[str, int]:
        rows = self.world.sandbox.store.execute(
            "SELECT entity, count(*) FROM entities WHERE realm_id = ? GROUP BY entity", (self.world.realm_id,)
        ).fetchall()
        return dict(rows)

    def push_results(self) -> list[dict[str, Any]]:
        return self.world.connector.store.push_log.results()

    def settings_json(self) -> str:
        s = self.world.settings
        values = {
            k: getattr(s, k)
            for k in (
                "base_url",
                "discovery_url",
                "client_id",
                "client_secret",
                "redirect_uri",
                "store_url",
                "budget_url",
                "tenant_id",
            )
        }
        values |= {
            "warehouse": str(s.warehouse),
            "pipelines_dir": str(s.pipelines_path),
            "token_encryption_keys": list(s.token_encryption_keys),
        }
        return json.dumps(values)


def prepare(workdir: Path) -> Iterator[Ready]:
    with world(workdir, write=lambda _: None) as w:
        ready = Ready(w, workdir, {})
        ready.sync()
        planted = generate(
            w.sandbox.store, w.realm_id, workdir / "platform", tenant_id=DEMO_TENANT, policy=DEMO_POLICY
        )
        ready.planted = planted.planted.__dict__
        load_platform(
            str(workdir / "platform"),
            warehouse=ready.warehouse,
            pipelines_dir=w.settings.pipelines_path,
            realms=w.connector.tenant_realms(),
        )
        ready.transform()
        yield ready


@pytest.fixture
def ready(tmp_path: Path) -> Iterator[Ready]:
    yield from prepare(tmp_path)
