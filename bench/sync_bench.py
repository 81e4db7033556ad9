"""Full and idle sync of one company: records/s, HTTP requests, peak memory of the syncing process.

    uv run python bench/sync_bench.py [--company demo|large] [--db FILE]

The sandbox runs as its own process (`qbo sandbox --db ...`, the company generated once under
var/bench/); this process does exactly what `qbo sync` does for one realm, into a fresh DuckDB
warehouse. Peak memory is this process's high-water mark (ru_maxrss), and the resident set sampled
during each dlt step (extract, normalize, load), so growth can be traced to its step. Prints;
asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

from dlt.pipeline.pipeline import Pipeline

from bench.harness import REALM_ID, ROOT, emit, ensure_company, sandbox_process
from pipelines.sync import sync_realm
from sandbox.background import connect
from sandbox.settings import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from sources.quickbooks.client import QboClient, StaticTokens


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@contextmanager
def step_peaks() -> Iterator[dict[str, float]]:
    """The highest resident set seen during each dlt step, sampled every 50 ms."""
    peaks: dict[str, float] = {}
    current = ["other"]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            peaks[current[0]] = max(peaks.get(current[0], 0.0), rss_mib())

    def labelled(step: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def run(self: Pipeline, *args: Any, **kwargs: Any) -> Any:
            current[0] = step
            try:
                return method(self, *args, **kwargs)
            finally:
                current[0] = "other"

        return run

    originals = {step: getattr(Pipeline, step) for step in ("extract", "normalize", "load")}
    for step, method in originals.items():
        setattr(Pipeline, step, labelled(step, method))
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peaks
    finally:
        done.set()
        sampler.join()
        for step, method in originals.items():
            setattr(Pipeline, step, method)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--company", default="demo", choices=("tiny", "demo", "medium", "large"))
    parser.add_argument("--db", type=Path, help="default: var/bench/sandbox-<company>.db")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    db = args.db or ROOT / "var" / "bench" / f"sandbox-{args.company}.db"
    ensure_company(db, args.company, args.seed)

    with sandbox_process(db, args.company, args.seed) as (base, _):
        realm_id = REALM_ID
        # a long run outlives an hour-long token: give the bench a token that lasts
        requests.post(f"{base}/_sandbox/config", json={"oauth": {"access_token_ttl": 86_400}}, timeout=10)
        token = connect(base, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, realm_id)["access_token"]
        client = QboClient(realm_id, base, StaticTokens(token))
        work = Path(tempfile.mkdtemp(prefix="qbo-sync-bench-"))
        before = peak_mib()
        print(f"sync bench: {args.company} company, warehouse in {work}")
        for label in ("full", "idle"):
            started = time.perf_counter()
            with step_peaks() as peaks:
                result = sync_realm(
                    client, warehouse=work / "warehouse.duckdb", pipelines_dir=work / "pipelines"
                )
            seconds = time.perf_counter() - started
            rows = sum(result.rows.values())
            print(
                f"  {label:<5} {rows:>10,} records in {seconds:8.1f} s = {rows / seconds:9,.0f} records/s, "
                f"{result.requests:>6,} HTTP requests ({result.retries} retried)"
            )
            print("        resident MiB at most: " + ", ".join(f"{k} {v:.0f}" for k, v in peaks.items()))
            emit(f"sync.{args.company}.{label}.seconds", seconds, "s")
            emit(f"sync.{args.company}.{label}.requests", result.requests, "requests")
        print(f"  peak memory of the syncing process: {peak_mib():.0f} MiB (after imports: {before:.0f} MiB)")
        emit(f"sync.{args.company}.peak_mib", peak_mib(), "MiB")


if __name__ == "__main__":
    main()
