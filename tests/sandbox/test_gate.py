"""QBO's limits and the injected faults: what a client on the wire experiences."""

from __future__ import annotations

import concurrent.futures
import time

import pytest
import requests

from tests.qbo_http import QboHttp


def configure(client: QboHttp, **patch: object) -> None:
    response = client.admin("POST", "config", json=patch)
    assert response.status_code == 200, response.text


def test_requests_per_minute_are_limited_per_client_and_realm(tiny: QboHttp) -> None:
    configure(tiny, limits={"enabled": True, "per_minute": 5})
    statuses = [tiny.get("preferences").status_code for _ in range(7)]
    assert statuses == [200] * 5 + [429] * 2
    stats = tiny.admin("GET", f"realms/{tiny.realm_id}/stats").json()
    assert stats["throttled_429"] == 2
    assert stats["requests"]["GET preferences"] == 7


def test_concurrent_requests_over_the_limit_get_429(tiny: QboHttp) -> None:
    configure(tiny, limits={"enabled": True, "concurrent": 3}, latency={"fixed_ms": 300})
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(
            pool.map(
                lambda _: (
                    requests.get(f"{tiny.base}/preferences", headers=tiny.headers(), timeout=10).status_code
                ),
                range(8),
            )
        )
    assert statuses.count(200) == 3 and statuses.count(429) == 5


def test_batch_calls_have_their_own_lower_limit(tiny: QboHttp) -> None:
    configure(tiny, limits={"enabled": True, "batch_per_minute": 2})
    body = {"BatchItemRequest": [{"bId": "1", "Query": "select * from Term"}]}
    statuses = [
        tiny.session.post(f"{tiny.base}/batch", json=body, headers=tiny.headers(), timeout=10).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]
    assert tiny.get("preferences").status_code == 200  # other calls still go through


def test_batch_of_more_than_30_items_is_a_fault(tiny: QboHttp) -> None:
    items = [{"bId": str(i), "Query": "select * from Term"} for i in range(31)]
    response = tiny.session.post(
        f"{tiny.base}/batch", json={"BatchItemRequest": items}, headers=tiny.headers(), timeout=10
    )
    assert response.status_code == 400
    assert response.json()["Fault"]["Error"][0]["code"] == "1040"


def test_latency_range_is_applied(tiny: QboHttp) -> None:
    configure(tiny, latency={"min_ms": 150, "max_ms": 200})
    started = time.monotonic()
    assert tiny.get("preferences").status_code == 200
    assert time.monotonic() - started >= 0.15  # a lower bound the sandbox must honour, not a speed claim


@pytest.mark.parametrize(("fault", "status"), [("429", 429), ("500", 500), ("503", 503)])
def test_injected_http_faults(tiny: QboHttp, fault: str, status: int) -> None:
    configure(tiny, faults={f"rate_{fault}": 1.0})
    response = tiny.get("preferences")
    assert response.status_code == status
    assert "intuit_tid" in response.headers


def test_injected_connection_reset_and_truncated_body(tiny: QboHttp) -> None:
    configure(tiny, faults={"rate_reset": 1.0})
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{tiny.base}/preferences", headers=tiny.headers(), timeout=10)
    configure(tiny, faults={"rate_reset": 0.0, "rate_truncated": 1.0})
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.ConnectionError)):
        requests.get(f"{tiny.base}/preferences", headers=tiny.headers(), timeout=10)
    configure(tiny, faults={"rate_truncated": 0.0, "rate_slow": 1.0, "slow_seconds": 1.0})
    with pytest.raises(requests.Timeout):
        requests.get(f"{tiny.base}/preferences", headers=tiny.headers(), timeout=0.3)


def test_fault_draws_are_reproducible_for_a_seed(tiny: QboHttp) -> None:
    def run() -> list[int]:
        configure(tiny, faults={"seed": 7, "rate_500": 0.3, "rate_503": 0.2})
        return [tiny.get("preferences").status_code for _ in range(20)]

    first, second = run(), run()
    assert first == second
    assert {200, 500, 503} <= set(first)


def test_config_rejects_bad_values_with_the_field_named(tiny: QboHttp) -> None:
    response = tiny.admin("POST", "config", json={"faults": {"rate_500": 0.8, "rate_503": 0.5}})
    assert response.status_code == 422 and "add up" in response.text
    response = tiny.admin("POST", "config", json={"limits": {"per_minute": 0}})
    assert response.status_code == 422 and "per_minute" in response.text
    shown = tiny.admin("GET", "config").json()
    assert shown["oauth"]["client_id"] == tiny.server.client_id and shown["faults"]["rate_500"] == 0
