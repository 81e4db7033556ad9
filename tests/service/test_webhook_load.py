"""Webhook intake under concurrent load: every valid event stored once, every badly signed delivery 401,
no delivery lost. The same proof as bench/webhook_bench.py, at test scale and with no timing judged."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.webhook_load import BAD, WEBHOOK_PATH, deliveries, post_all, verify
from pipelines.runtime.connector import Connector
from sandbox.background import serving
from service.app import create_app
from tests.service.conftest import VERIFIER, gateway_settings


@pytest.mark.slow
def test_concurrent_deliveries_store_each_valid_event_once_and_refuse_every_bad_one(tmp_path: Path) -> None:
    connector = Connector(gateway_settings(tmp_path))
    batch = deliveries(2_000, VERIFIER, seed=7)
    assert {d.kind for d in batch} == {"cloudevents", "legacy", "duplicate", *BAD}  # the mix is all there

    with serving(create_app(connector)) as (base, _):
        outcomes, _ = post_all(base + WEBHOOK_PATH, batch, concurrency=32)
    verdict = verify(batch, outcomes, connector.store.engine)

    assert verdict.problems == [], "\n".join(verdict.problems + verdict.errors)
    assert verdict.lost == 0
    assert set(verdict.statuses) == {200, 401}
    assert verdict.rejected == sum(1 for d in batch if not d.valid) == 100
    assert (
        verdict.stored_rows == verdict.expected_events == len({k for d in batch if d.valid for k in d.keys})
    )
    assert verdict.missing == verdict.bad_stored == verdict.twice == 0
    assert verdict.duplicates_absorbed > 0  # the re-posts were answered 200 and stored nothing new
