"""`dbt build` of the transform over a company's warehouse: seconds, slowest models, peak memory.

    uv run python bench/transform_bench.py [--company demo|large] [--rebuild]

The company is served by the sandbox (generated once under var/bench/), synced into
var/bench/transform-<company>/warehouse.duckdb, and overlapped by generated platform records (as
`make demo` does); then the whole dbt project is built and timed. A second run reuses the warehouse
(an incremental sync) unless --rebuild. Prints; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import time
from pathlib import Path

import duckdb
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

from bench.harness import REALM_ID, ROOT, emit, ensure_company, sandbox_process
from pipelines.platform_load import load_platform
from pipelines.sync import sync_realm
from pipelines.transform.dbt_build import run_dbt
from sandbox.background import connect
from sandbox.demo import platform_records
from sandbox.demo.tour import DEMO_POLICY
from sandbox.demo.world import DEMO_TENANT
from sandbox.settings import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from sandbox.store import Store
from sources.quickbooks.client import QboClient, StaticTokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--company", default="demo", choices=("tiny", "demo", "medium", "large"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rebuild", action="store_true", help="start from an empty warehouse")
    args = parser.parse_args()
    db = ROOT / "var" / "bench" / f"sandbox-{args.company}.db"
    work = ROOT / "var" / "bench" / f"transform-{args.company}"
    if args.rebuild:
        shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    warehouse = work / "warehouse.duckdb"
    ensure_company(db, args.company, args.seed)
    print(f"transform bench: {args.company} company, warehouse {warehouse}")

    with sandbox_process(db, args.company, args.seed) as (base, _):
        requests.post(f"{base}/_sandbox/config", json={"oauth": {"access_token_ttl": 86_400}}, timeout=10)
        token = connect(base, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, REALM_ID)["access_token"]
        started = time.perf_counter()
        synced = sync_realm(
            QboClient(REALM_ID, base, StaticTokens(token)),
            warehouse=warehouse,
            pipelines_dir=work / "pipelines",
        )
        print(f"  sync: {sum(synced.rows.values()):,} records in {time.perf_counter() - started:.0f} s")

    started = time.perf_counter()
    generated = platform_records.generate(
        Store(db), REALM_ID, work / "platform", DEMO_TENANT, args.seed, policy=DEMO_POLICY
    )
    platform = sum(generated.planted.counts.values())
    print(f"  platform records generated: {platform:,} in {time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    loaded = load_platform(str(work / "platform"), warehouse=warehouse, pipelines_dir=work / "pipelines")
    print(f"  platform load: {sum(loaded.loaded.values()):,} loaded in {time.perf_counter() - started:.0f} s")

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = run_dbt(warehouse, policy=DEMO_POLICY, as_of=None, target_path=work / "target")
    print(f"  {result.summary()}")
    with duckdb.connect(str(warehouse), read_only=True) as wh:
        (invoices,) = wh.execute("SELECT count(*) FROM staging.stg_qbo__invoices").fetchone()
    platform_invoices = generated.planted.counts["Invoice"]
    print(f"  {invoices:,} QBO and {platform_invoices:,} platform invoices: dbt build {result.seconds:.1f} s")
    emit(f"transform.{args.company}.dbt_seconds", result.seconds, "s")
    slowest = sorted(result.timings.items(), key=lambda kv: -kv[1])[:8]
    print("  slowest nodes: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in slowest))
    print_slowest(work / "target" / "run_results.json")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak memory of this process: {peak:.0f} MiB (before dbt: {before:.0f} MiB)")


def print_slowest(run_results: Path, top: int = 10) -> None:
    """The models that dominate the build, and the time each kind of node took (summed over dbt's
    threads, so above the wall time): where the next second is to be won."""
    results = json.loads(run_results.read_text(encoding="utf-8")).get("results", [])
    seconds: dict[str, float] = {}
    for node in results:
        kind = node["unique_id"].split(".", 1)[0]
        seconds[kind] = seconds.get(kind, 0.0) + float(node["execution_time"] or 0)
    print("  node seconds by kind: " + ", ".join(f"{kind} {total:.1f} s" for kind, total in seconds.items()))
    models = [n for n in results if n["unique_id"].startswith("model.")]
    models.sort(key=lambda n: -float(n["execution_time"] or 0))
    print(f"  slowest {top} models:")
    for node in models[:top]:
        print(f"    {float(node['execution_time'] or 0):6.1f} s  {node['unique_id'].split('.')[-1]}")


if __name__ == "__main__":
    main()
