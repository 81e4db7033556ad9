"""Full scans with many requests in flight (sources/quickbooks/scan.py) load exactly what a scan page by
page loads, and keep to QBO's limits across realms and processes."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from sources.quickbooks import settings
from sources.quickbooks.catalog import ENTITIES
from sources.quickbooks.scan import Scan
from tests.quickbooks.conftest import Realm
from tests.quickbooks.scan_child import PER_SECOND

ROOT = Path(__file__).resolve().parents[2]
FAULTS = {
    "seed": 7,
    "rate_429": 0.05,
    "rate_500": 0.04,
    "rate_503": 0.04,
    "rate_reset": 0.04,
    "rate_truncated": 0.03,
}
NO_FAULTS = {key: 0 for key in FAULTS if key.startswith("rate_")}


def everything(realm: Realm) -> dict[str, dict[str, tuple[str | None, bool]]]:
    return {entity: realm.warehouse_rows(entity) for entity in ENTITIES}


def test_a_concurrent_scan_loads_what_a_scan_page_by_page_loads(
    make_realm: Callable[..., Realm], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the demo company with one request in five failing, pages of 50 rows (so Invoice is split over
    several cursors): the same ids, SyncTokens and deleted marks, before and after deletes and a re-scan."""
    monkeypatch.setattr(settings, "MAX_RESULTS", 50)
    one = make_realm("demo")
    many = dataclasses.replace(one, warehouse=tmp_path / "many.duckdb", pipelines_dir=tmp_path / "many")
    one.admin("POST", "config", json={"faults": FAULTS})

    first = one.sync(workers=1)
    second = many.sync()
    assert everything(one) == everything(many)
    assert second.retries > 0 and first.retries > 0  # the faults were met, and retried
    assert sum(second.rows.values()) == sum(first.rows.values())

    invoices = (one.doc("Invoice", i) for i in sorted(one.truth("Invoice"), key=int))
    unpaid = [d["Id"] for d in invoices if d["Balance"] == d["TotalAmt"] > 0][:3]
    for invoice in unpaid:
        one.mutate(entity="Invoice", id=invoice, op="delete")
    one.mutate(entity="Customer", id="3", op="update", changes={"Notes": "changed between the runs"})
    one.sync(workers=1, full_refresh=True)
    many.sync(full_refresh=True)
    assert everything(one) == everything(many)
    one.admin("POST", "config", json={"faults": NO_FAULTS})
    many.assert_warehouse_equals_sandbox()
    assert all(many.warehouse_rows("Invoice")[i] == (None, True) for i in unpaid)


def test_a_huge_entity_is_read_by_several_cursors_without_losing_or_doubling_a_row(
    make_realm: Callable[..., Realm],
) -> None:
    realm = make_realm("demo")
    invoices = realm.truth("Invoice")
    scan = Scan(realm.client, ["Invoice", "Customer"], workers=6, page_size=20)
    ids: list[str] = []
    for entity in ("Invoice", "Customer"):
        for page in scan.pages(entity):
            ids += [f"{entity}:{doc['Id']}" for doc in page]
    expected = {f"Invoice:{i}" for i, (_, gone) in invoices.items() if not gone}
    expected |= {f"Customer:{i}" for i, (_, gone) in realm.truth("Customer").items() if not gone}
    assert sorted(ids) == sorted(expected)  # each row once
    stats = realm.admin("GET", f"realms/{realm.realm_id}/stats").json()
    assert stats["peak_in_flight"] > 1  # several cursors were out at once
    assert stats["peak_in_flight"] <= 6
    pages = -(-len(invoices) // 20)
    assert stats["requests_total"] <= pages * 1.5  # splitting costs a few short pages, not a page per row
    assert scan.started is not None


def test_two_processes_syncing_two_realms_stay_within_qbo_limits(
    make_realm: Callable[..., Realm], tmp_path: Path
) -> None:
    """Two processes each sync both realms at once (in opposite orders), sharing one budget file: the
    sandbox, enforcing QBO's limits with its minute shortened to 2 s, never sees more than 10 requests
    in flight or more than its per-window allowance for a realm, and answers no 429."""
    realms = [make_realm("tiny", realm_id=f"63{n:02d}") for n in range(2)]
    limits = {"enabled": True, "per_minute": 20, "window_seconds": 2, "concurrent": 10}
    realms[0].admin("POST", "config", json={"limits": limits})
    env = {**os.environ, "QBO_TEST_PAGE_SIZE": "3"}
    for realm in realms:
        token = realm.client.tokens.access_token(realm.realm_id)
        env[f"QBO_TEST_TOKEN_{realm.realm_id}"] = token
    budget = tmp_path / "budget.sqlite"
    orders = [[r.realm_id for r in realms], [r.realm_id for r in reversed(realms)]]
    processes = []
    for n, order in enumerate(orders):
        workdir = tmp_path / f"p{n}"
        workdir.mkdir()
        command = [
            sys.executable,
            "-m",
            "tests.quickbooks.scan_child",
            realms[0].server.base_url,
            str(budget),
        ]
        processes.append(
            subprocess.Popen(
                [*command, str(workdir), *order],
                cwd=ROOT,
                env=env,
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        )
    for process in processes:
        _, err = process.communicate(timeout=600)
        assert process.returncode == 0, err[-3000:]
    for realm in realms:
        stats = requests.get(
            f"{realm.server.base_url}/_sandbox/realms/{realm.realm_id}/stats", timeout=30
        ).json()
        assert stats["throttled_429"] == 0
        assert 1 < stats["peak_in_flight"] <= 10
        assert stats["peak_per_window"] <= limits["per_minute"]
        assert stats["requests_total"] > 2 * PER_SECOND * 2  # more than two windows' worth: paced, not lucky
    for n in range(2):
        for realm in realms:
            synced = dataclasses.replace(realm, warehouse=tmp_path / f"p{n}" / "warehouse.duckdb")
            synced.assert_warehouse_equals_sandbox()
