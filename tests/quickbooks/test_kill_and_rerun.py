"""A sync killed with SIGKILL at a random point, then run again, converges: nothing lost or doubled."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from tests.quickbooks.conftest import Realm

ROOT = Path(__file__).resolve().parents[2]


def child(realm: Realm) -> subprocess.Popen[str]:
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


@pytest.mark.parametrize("seed", [1, 2])
def test_sigkill_mid_sync_then_rerun_converges(make_realm: Callable[..., Realm], seed: int) -> None:
    realm = make_realm("demo")
    realm.admin("POST", "config", json={"latency": {"min_ms": 5, "max_ms": 30}})  # stretch the run a little
    process = child(realm)
    time.sleep(random.Random(seed).uniform(3.0, 9.0))  # somewhere in extract, normalize or load
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    realm.mutate(entity="Customer", id="3", op="update", changes={"Notes": "changed while it was down"})
    rerun = child(realm)
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
