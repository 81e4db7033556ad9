"""A sync killed with SIGKILL at a random point, then run again, converges: nothing lost or doubled."""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Callable

import duckdb
import pytest

from tests.quickbooks.conftest import Realm, sync_process


@pytest.mark.parametrize("seed", [1, 2])
def test_sigkill_mid_sync_then_rerun_converges(make_realm: Callable[..., Realm], seed: int) -> None:
    realm = make_realm("demo")
    realm.admin("POST", "config", json={"latency": {"min_ms": 5, "max_ms": 30}})  # stretch the run a little
    process = sync_process(realm)
    time.sleep(random.Random(seed).uniform(3.0, 9.0))  # somewhere in extract, normalize or load
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    realm.mutate(entity="Customer", id="3", op="update", changes={"Notes": "changed while it was down"})
    rerun = sync_process(realm)
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err[-3000:]
    realm.assert_warehouse_equals_sandbox()
    with duckdb.connect(str(realm.warehouse), read_only=True) as db:
        dupes = db.execute(
            "SELECT realm_id, id, COUNT(*) FROM raw_qbo.invoice GROUP BY 1, 2 HAVING COUNT(*) > 1"
        ).fetchall()
        lines = db.execute(
            "SELECT COUNT(*) FROM raw_qbo.invoice__line l JOIN raw_qbo.invoice i "
            "ON l._dlt_root_id = i._dlt_id"
        ).fetchone()[0]
        orphans = db.execute(
            "SELECT COUNT(*) FROM raw_qbo.invoice__line l LEFT JOIN raw_qbo.invoice i "
            "ON l._dlt_root_id = i._dlt_id WHERE i._dlt_id IS NULL"
        ).fetchone()[0]
    assert dupes == []
    assert lines > 0 and orphans == 0
