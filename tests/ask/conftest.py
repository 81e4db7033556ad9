"""A tiny company synced into a warehouse whose staging models are built: what the tests that compare
QBO's answers with the warehouse's stand on (one per test module)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pipelines.ask.intent import QboIntent
from pipelines.ask.run import Answer, Asker
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


@pytest.fixture
def both_ways(synced: World) -> Callable[[dict[str, Any]], tuple[Answer, Answer]]:
    """An intent (wire names) answered by QBO (the warehouse taken as stale) and by the warehouse, today;
    each answer from where it says, with the same columns."""

    def answer(intent: dict[str, Any]) -> tuple[Answer, Answer]:
        today = datetime.now(UTC).date()
        asked = QboIntent.from_wire(intent)
        from_qbo = Asker(synced.connector, fresh=timedelta(0)).answer(asked, today=today)
        from_warehouse = Asker(synced.connector, fresh=timedelta(days=1)).answer(asked, today=today)
        assert (from_qbo.ran_on, from_warehouse.ran_on) == ("qbo", "warehouse")
        assert from_qbo.columns == from_warehouse.columns
        return from_qbo, from_warehouse

    return answer
