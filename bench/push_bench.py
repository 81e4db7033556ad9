"""Pushed operations per minute under the sandbox's realistic limits, next to the bound they allow.

    uv run python bench/push_bench.py [--creates 2400]

The demo company is served with QBO's limits (500 requests and 40 batch calls a minute per realm, 10
in flight), synced, overlapped by the demo platform records plus `--creates` new customers, transformed;
then one `qbo push` is timed. The bound is what the batch limit allows: 40 batch requests a minute x 30
operations. Prints; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

from bench.harness import emit
from pipelines.platform_load import load_platform
from pipelines.push.batch import push_all
from pipelines.push.destination import MAX_BATCH
from pipelines.sync import sync_all
from pipelines.transform.dbt_build import run_dbt
from sandbox.demo.platform_records import generate
from sandbox.demo.tour import DEMO_POLICY
from sandbox.demo.world import DEMO_TENANT, world


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creates", type=int, default=2400, help="new platform customers to create in QBO")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="qbo-push-bench-"))
    with world(work, write=lambda _: None) as w:
        limits = w.sandbox.config.limits
        bound = limits.batch_per_minute * MAX_BATCH
        sync_all(w.connector, echo=lambda _: None)
        planted = generate(
            w.sandbox.store, w.realm_id, work / "platform", DEMO_TENANT, policy=DEMO_POLICY
        ).planted
        with (work / "platform" / "customers.jsonl").open("a", encoding="utf-8") as customers:
            for n in range(args.creates):
                customers.write(
                    json.dumps(
                        {
                            "id": f"bench_{n:06d}",
                            "tenantId": DEMO_TENANT,
                            "realmId": w.realm_id,
                            "displayName": f"Bench Customer {n:06d}",
                            "email": f"bench{n}@example.org",
                            "createdAt": f"{planted.as_of}T00:00:00Z",
                            "updatedAt": f"{planted.as_of}T00:00:00Z",
                        }
                    )
                    + "\n"
                )
        load_platform(
            str(work / "platform"), warehouse=w.settings.warehouse, pipelines_dir=w.settings.pipelines_path
        )
        result = run_dbt(w.settings.warehouse, policy=DEMO_POLICY, command="run", target_path=work / "target")
        assert result.success, result.summary()
        w.sandbox.configure({"limits": {"enabled": True}})  # QBO's limits, enforced: 429 beyond them
        started = time.perf_counter()
        pushed = push_all(w.connector, echo=lambda _: None)[0]
        minutes = (time.perf_counter() - started) / 60
        stats = requests.get(f"{w.server.base_url}/_sandbox/realms/{w.realm_id}/stats", timeout=30).json()
    done = sum(pushed.outcomes.values())
    print(
        f"push bench: {done:,} operations ({pushed.outcomes}) in {pushed.requests} batch requests, "
        f"{minutes * 60:.1f} s, {pushed.retries} retried"
    )
    print(
        f"  sandbox limits: {limits.per_minute} requests/min, {limits.batch_per_minute} batch/min, "
        f"{limits.concurrent} in flight; it answered {stats['throttled_429']} of the push's requests with 429"
    )
    print(
        f"  {done / minutes:,.0f} operations/min against a bound of {bound:,}/min "
        f"({limits.batch_per_minute} batch requests/min x {MAX_BATCH}): {done / minutes / bound:.0%} of it"
    )
    emit("push.ops_per_min", done / minutes, "ops/min")
    emit("push.bound_share", 100 * done / minutes / bound, "%")


if __name__ == "__main__":
    main()
