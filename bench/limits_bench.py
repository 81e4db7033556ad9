"""A full sync under QBO's limits and latency, against the bound those allow (issue 19, goal 2).

    uv run --frozen python bench/limits_bench.py [--company demo|medium] [--latency-ms 1000-2000]
                                                 [--workers 10] [--label latency]

The sandbox runs as its own process with QBO's limits on (500 requests a minute, 10 in flight, 40 batch
calls a minute) and each answer delayed by a latency drawn from the range. The sync draws on a request
budget with the same limits, as `qbo sync` does. It runs twice, into fresh warehouses: without latency,
then with it. The bound is what no client could beat:

    max(requests / 500 per minute, sum of latencies / 10 in flight, the same sync's wall time with no latency)

and the figure is the sync's wall time over it (goal: <= 1.15), with the 429s the sandbox answered
(goal: 0) and the most requests it saw in flight, over both runs. Prints; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

from bench.harness import REALM_ID, ROOT, emit, ensure_company, sandbox_process
from pipelines.runtime.memory import fewer_malloc_arenas
from pipelines.sync import SyncResult, sync_realm
from sandbox.background import connect
from sandbox.settings import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from sources.quickbooks.budget import RequestBudget, open_backend
from sources.quickbooks.client import QboClient, StaticTokens

PER_MINUTE, IN_FLIGHT, BATCH_PER_MINUTE = 500, 10, 40


def timed_sync(
    base: str, token: str, budget_file: Path, work: Path, workers: int
) -> tuple[SyncResult, float, float]:
    """A full sync into a fresh warehouse: its result, wall seconds, and seconds waited on QBO (summed)."""
    backend = open_backend(f"sqlite:///{budget_file}")
    budget = RequestBudget(
        DEFAULT_CLIENT_ID, REALM_ID, backend, per_minute=PER_MINUTE, concurrent=IN_FLIGHT,
        batch_per_minute=BATCH_PER_MINUTE,
    )  # fmt: skip
    client = QboClient(REALM_ID, base, StaticTokens(token), budget=budget)
    started = time.perf_counter()
    result = sync_realm(
        client, warehouse=work / "warehouse.duckdb", pipelines_dir=work / "pipelines", workers=workers
    )
    wall = time.perf_counter() - started
    backend.close()
    return result, wall, client.stats.seconds


def main() -> None:
    fewer_malloc_arenas()  # as `qbo` does first: the figures are those of `qbo sync`
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--company", default="demo", choices=("tiny", "demo", "medium", "large"))
    parser.add_argument("--latency-ms", default="1000-2000", help="each answer's delay, drawn from MIN-MAX")
    parser.add_argument("--workers", type=int, default=IN_FLIGHT, help="requests in flight (1: page by page)")
    parser.add_argument("--label", default="latency", help="the figures' names: sync.<company>.<label>.*")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    low, _, high = args.latency_ms.partition("-")
    latency = {"min_ms": float(low), "max_ms": float(high or low)}
    db = ROOT / "var" / "bench" / f"sandbox-{args.company}.db"
    ensure_company(db, args.company, args.seed)
    work = Path(tempfile.mkdtemp(prefix="qbo-limits-bench-"))
    limits = {
        "enabled": True,
        "per_minute": PER_MINUTE,
        "concurrent": IN_FLIGHT,
        "batch_per_minute": BATCH_PER_MINUTE,
    }

    with sandbox_process(db, args.company, args.seed) as (base, _):
        config = f"{base}/_sandbox/config"
        requests.post(config, json={"oauth": {"access_token_ttl": 86_400}, "limits": limits}, timeout=10)
        token = connect(base, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, REALM_ID)["access_token"]
        quick, quick_wall, _ = timed_sync(
            base, token, work / "budget-0.sqlite", work / "no-latency", args.workers
        )
        rows = sum(quick.rows.values())
        print(f"  no latency: {rows:,} records in {quick_wall:.1f} s, {quick.requests} requests")

        requests.post(config, json={"latency": latency}, timeout=10)
        result, wall, waited = timed_sync(
            base, token, work / "budget-1.sqlite", work / "latency", args.workers
        )
        stats = requests.get(f"{base}/_sandbox/realms/{REALM_ID}/stats", timeout=10).json()

    per_minute_bound = result.requests / PER_MINUTE * 60
    in_flight_bound = waited / IN_FLIGHT
    bound = max(per_minute_bound, in_flight_bound, quick_wall)
    print(
        f"sync under QBO's limits, {args.company}, latency {args.latency_ms} ms, {args.workers} workers:\n"
        f"  {sum(result.rows.values()):,} records in {wall:.1f} s, {result.requests} requests "
        f"({result.retries} retried), {waited:.1f} s waited on QBO in all\n"
        f"  bound {bound:.1f} s = max({per_minute_bound:.1f} s at {PER_MINUTE}/min, "
        f"{in_flight_bound:.1f} s at {IN_FLIGHT} in flight, {quick_wall:.1f} s without latency); "
        f"wall / bound = {wall / bound:.2f}\n"
        f"  over both runs the sandbox saw at most {stats.get('peak_in_flight')} in flight and "
        f"{stats.get('peak_per_window')} in a minute, and answered {stats.get('throttled_429')} 429s"
    )
    name = f"sync.{args.company}.{args.label}"
    emit(f"{name}.seconds", wall, "s")
    emit(f"{name}.bound_ratio", wall / bound, "x")
    emit(f"{name}.throttled_429", stats.get("throttled_429", 0), "responses")
    emit(f"{name}.requests", result.requests, "requests")


if __name__ == "__main__":
    main()
