"""With QBO's limits enforced, the connector's own budget keeps it from ever being throttled."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import pytest

from sources.quickbooks import settings
from sources.quickbooks.budget import RequestBudget, open_backend
from sources.quickbooks.client import QboClient, RetryPolicy, StaticTokens
from tests.quickbooks.conftest import Realm

# The sandbox's "minute" shortened to 2 s so the test is quick: 10 requests per 2 s, 2 in flight.
LIMITS = {"enabled": True, "per_minute": 10, "window_seconds": 2, "concurrent": 2}


def test_several_realms_sync_under_qbo_limits_without_a_429(
    make_realm: Callable[..., Realm], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "MAX_RESULTS", 5)  # pages of 5: a first sync of tiny takes many requests
    realms = [make_realm("tiny", realm_id=f"62{n:02d}") for n in range(2)]
    realms[0].admin("POST", "config", json={"limits": LIMITS})
    backend = open_backend(f"sqlite:///{tmp_path / 'budget.sqlite'}")
    budgets = []
    for realm in realms:
        # 4 a second stays inside 10 per 2 s; the same budget would serve every process of the app
        budget = RequestBudget(
            "qbo-sandbox-client", realm.realm_id, backend, per_minute=240, per_second=4, concurrent=2
        )
        budgets.append(budget)
        realm.client.budget = budget
        realm.client.retry = RetryPolicy(max_attempts=1)  # a single 429 would fail the sync
        realm.sync()
        realm.assert_warehouse_equals_sandbox()
        stats = realm.admin("GET", f"realms/{realm.realm_id}/stats").json()
        assert stats["throttled_429"] == 0
        assert stats["requests_total"] > 10  # more than one window's worth: the budget had to pace them
    assert sum(b.stats()["waited_seconds"] for b in budgets) > 0


def test_without_a_budget_the_same_sync_is_throttled(
    make_realm: Callable[..., Realm], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "MAX_RESULTS", 5)
    realm = make_realm("tiny", realm_id="6299")
    realm.admin("POST", "config", json={"limits": LIMITS})
    token = realm.client.tokens
    assert isinstance(token, StaticTokens)
    realm.client = QboClient(
        realm.realm_id, realm.server.base_url, token, sleep=lambda _: None, retry=RetryPolicy(max_attempts=1)
    )
    with contextlib.suppress(Exception):  # the sync may fail on its first 429: that is the point
        realm.sync()
    assert realm.admin("GET", f"realms/{realm.realm_id}/stats").json()["throttled_429"] > 0
