"""A tiny company synced into a warehouse whose staging models are built: what the tests that compare
QBO's answers with the warehouse's stand on (one per test module)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pipelines.mapping.policy import MasteringPolicy
from pipelines.sync import sync_all
from pipelines.transform.dbt_build import run_dbt
from sandbox.demo.world import World, world


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with world(tmp_path_factory.mktemp("ask"), "tiny", write=lambda _: None) as w:
        sync_all(w.connector, echo=lambda _: None)
        staged = run_dbt(w.settings.warehouse, policy=MasteringPolicy(), command="run", select=["staging"])
        assert staged.success, staged.summary()
        yield w
