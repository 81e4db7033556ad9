"""The same work on both warehouses: several realms synced at once, a transform, and a drain's load
while that transform runs. Prints; asserts nothing.

    uv run python bench/warehouses_bench.py [--company medium] [--realms 4] [--warehouse both]

The sandbox serves `--realms` companies of one profile (seeds 1..n, generated once under var/bench/)
as its own process. For each warehouse, a fresh one (a DuckDB file in a temp dir; a PostgreSQL database
of its own, dropped after: `--postgres` names the server):
- one realm alone, then all realms at once, each realm a process of its own as the work pool's workers
  would run them (wall, records/s, the largest peak memory of a realm's process). On DuckDB their loads
  take turns through the warehouse's lock; on PostgreSQL they load side by side;
- a transform (dbt build) over it, with the first realm's platform records loaded;
- the drain's path while a transform runs: a customer edited in QBO, then an incremental sync of that
  realm's customers started a few seconds into a second dbt build; its latency is from its start to the
  record in the warehouse. On DuckDB it waits for the build (one writer); on PostgreSQL it does not.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

import psycopg

from bench.harness import REALM_ID, ROOT, ensure_company, sandbox_process
from pipelines.platform_load import load_platform
from pipelines.runtime.warehouse import Warehouse, WarehouseAccess
from pipelines.runtime.warehouse_sql import TRANSFORM_LOCK, one_at_a_time, open_warehouse
from pipelines.sync import sync_realm
from pipelines.transform.dbt_build import run_dbt
from sandbox.background import connect
from sandbox.demo import platform_records
from sandbox.demo.tour import DEMO_POLICY
from sandbox.demo.world import DEMO_TENANT
from sandbox.settings import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from sandbox.store import Store
from sources.quickbooks.client import QboClient, StaticTokens

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def realm_ids(count: int) -> list[str]:
    return [str(int(REALM_ID) + n) for n in range(count)]


@contextmanager
def fresh_warehouse(kind: str, work: Path, server: str) -> Iterator[Warehouse]:
    if kind == "duckdb":
        yield work / f"warehouse-{secrets.token_hex(3)}.duckdb"
        return
    name = f"qbo_bench_{secrets.token_hex(4)}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def child(args: argparse.Namespace) -> None:
    """One realm's sync in this process (what a worker's flow run does); prints JSON figures."""
    started = time.perf_counter()
    result = sync_realm(
        QboClient(args.realm, args.base, StaticTokens(args.token)),
        warehouse=args.target,
        pipelines_dir=Path(args.pipelines),
        entities=args.entities.split(",") if args.entities else None,
    )
    figures = {
        "realm": args.realm,
        "rows": sum(result.rows.values()),
        "requests": result.requests,
        "seconds": time.perf_counter() - started,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    print(json.dumps(figures), flush=True)


def sync_processes(
    base: str, tokens: dict[str, str], target: Warehouse, pipelines: Path, entities: str = ""
) -> tuple[float, list[dict[str, Any]]]:
    """Each realm of `tokens` synced by a process of its own, all at once; wall seconds and figures."""
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            [sys.executable, __file__, "--child", realm, base, token, str(target), str(pipelines), entities],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for realm, token in tokens.items()
    ]
    figures = []
    for process in processes:
        out, err = process.communicate()
        if process.returncode != 0:
            raise SystemExit(f"a realm's sync failed:\n{err[-3000:]}")
        figures.append(json.loads(out.strip().splitlines()[-1]))
    return time.perf_counter() - started, figures


def transform(target: Warehouse, work: Path) -> float:
    """`qbo transform`'s build under the locks it takes (DuckDB: the warehouse; PostgreSQL: transforms)."""
    with WarehouseAccess(target), one_at_a_time(target, TRANSFORM_LOCK):
        result = run_dbt(target, policy=DEMO_POLICY, as_of=None, target_path=work / "target")
    if not result.success:
        raise SystemExit(f"dbt build failed: {result.summary()}")
    return result.seconds


def bench(kind: str, args: argparse.Namespace, base: str, tokens: dict[str, str], db: Path) -> None:
    work = Path(tempfile.mkdtemp(prefix=f"qbo-wh-bench-{kind}-"))
    first = next(iter(tokens))
    print(f"\n{kind}:")
    with fresh_warehouse(kind, work, args.postgres) as target:
        wall, (alone,) = sync_processes(base, {first: tokens[first]}, target, work / "alone")
        print(
            f"  1 realm alone:   {alone['rows']:>9,} records in {wall:7.1f} s = "
            f"{alone['rows'] / wall:8,.0f}/s, peak {alone['peak_mib']:.0f} MiB"
        )
    with fresh_warehouse(kind, work, args.postgres) as target:
        pipelines = work / "all"
        wall_all, each = sync_processes(base, tokens, target, pipelines)
        rows = sum(f["rows"] for f in each)
        print(
            f"  {len(tokens)} realms at once: {rows:>9,} records in {wall_all:7.1f} s = "
            f"{rows / wall_all:8,.0f}/s, peak {max(f['peak_mib'] for f in each):.0f} MiB per realm process; "
            f"{wall_all / wall:.2f}x one realm's wall (realms one after another: {len(tokens)}x)"
        )
        generated = platform_records.generate(
            Store(db), first, work / "platform", DEMO_TENANT, args.seed, policy=DEMO_POLICY
        )
        load_platform(str(work / "platform"), warehouse=target, pipelines_dir=pipelines)
        print(f"  platform records loaded: {sum(generated.planted.counts.values()):,}")
        seconds = transform(target, work)
        print(f"  transform (dbt build): {seconds:.1f} s")
        drain_latency(base, first, tokens[first], target, pipelines, work)


def drain_latency(base: str, realm: str, token: str, target: Warehouse, pipelines: Path, work: Path) -> None:
    with open_warehouse(target) as db:
        (customer,) = db.execute(
            "SELECT min(id::int) FROM raw_qbo.customer WHERE realm_id = ?", [realm]
        ).fetchone()
    note = f"edited in QBO {secrets.token_hex(3)}"
    later = f"edited during a transform {secrets.token_hex(3)}"
    # edited once for the quiet run, once more for the run beside a transform
    answer = requests.post(
        f"{base}/_sandbox/realms/{realm}/mutate",
        json={"entity": "Customer", "id": str(customer), "op": "update", "changes": {"Notes": note}},
        timeout=30,
    )
    answer.raise_for_status()
    quiet, _ = sync_processes(base, {realm: token}, target, pipelines, entities="Customer")
    print(
        f"  the drain's load of one edited customer, nothing else running: {quiet:.1f} s "
        "(a process's start included)"
    )
    requests.post(
        f"{base}/_sandbox/realms/{realm}/mutate",
        json={"entity": "Customer", "id": str(customer), "op": "update", "changes": {"Notes": later}},
        timeout=30,
    ).raise_for_status()
    building = threading.Thread(target=transform, args=(target, work))
    started_build = time.perf_counter()
    building.start()
    time.sleep(3)  # dbt is building now
    try:
        wall, _ = sync_processes(base, {realm: token}, target, pipelines, entities="Customer")
        outcome = f"{wall:.1f} s"
    except SystemExit as failed:
        outcome = f"failed ({str(failed).strip().splitlines()[-1][:160]})"
    building.join()
    build = time.perf_counter() - started_build
    with open_warehouse(target) as db:
        (notes,) = db.execute(
            "SELECT notes FROM raw_qbo.customer WHERE realm_id = ? AND id = ?", [realm, str(customer)]
        ).fetchone()
    landed = "in the warehouse" if notes == later else "NOT in the warehouse"
    print(
        f"  the drain's load during a transform: {outcome} (the build took {build:.1f} s); "
        f"the edit is {landed}"
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        keys = ("realm", "base", "token", "target", "pipelines", "entities")
        child(argparse.Namespace(**dict(zip(keys, sys.argv[2:], strict=True))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--company", default="demo", choices=("tiny", "demo", "medium", "large"))
    parser.add_argument("--realms", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--warehouse", default="both", choices=("both", "duckdb", "postgres"))
    parser.add_argument(
        "--postgres", default=POSTGRES, help="a server (its database `test` is only connected to)"
    )
    parser.add_argument("--db", type=Path, help="default: var/bench/sandbox-<company>-x<realms>.db")
    args = parser.parse_args()
    db = args.db or ROOT / "var" / "bench" / f"sandbox-{args.company}-x{args.realms}.db"
    realms = realm_ids(args.realms)
    for n, realm in enumerate(realms):
        ensure_company(db, args.company, args.seed + n, realm)
    print(f"warehouses bench: {args.realms} realms of the {args.company} company, {os.cpu_count()} cores")
    with sandbox_process(db, args.company, args.seed) as (base, _):
        requests.post(f"{base}/_sandbox/config", json={"oauth": {"access_token_ttl": 86_400}}, timeout=10)
        tokens = {
            r: connect(base, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, r)["access_token"] for r in realms
        }
        for kind in ("duckdb", "postgres") if args.warehouse == "both" else (args.warehouse,):
            bench(kind, args, base, tokens, db)


if __name__ == "__main__":
    main()
