"""Full and idle sync of one company: records/s, HTTP requests, peak memory of the syncing process.

    uv run python bench/sync_bench.py [--company demo|large] [--db FILE] [--process-rounds 3]

The sandbox runs as its own process (`qbo sandbox --db ...`, the company generated once under
var/bench/); this process does exactly what `qbo sync` does for one realm, into a fresh DuckDB
warehouse. Peak memory is this process's high-water mark (ru_maxrss), and the resident set sampled
during each dlt step (extract, normalize, load), so growth can be traced to its step. Then, as a
person runs it: `qbo connect --code`, one `qbo sync`, and the median wall time of `--process-rounds`
idle `qbo sync` processes, start-up included (what issue 19's 2 s is about). Prints; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

from dlt.pipeline.pipeline import Pipeline

from bench.harness import REALM_ID, ROOT, emit, ensure_company, sandbox_process
from pipelines.runtime.memory import fewer_malloc_arenas
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
def step_peaks() -> Iterator[tuple[dict[str, float], dict[str, float]]]:
    """The highest resident set seen during each dlt step (sampled every 50 ms), and its seconds."""
    peaks: dict[str, float] = {}
    seconds: dict[str, float] = {}
    current = ["other"]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            peaks[current[0]] = max(peaks.get(current[0], 0.0), rss_mib())

    def labelled(step: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def run(self: Pipeline, *args: Any, **kwargs: Any) -> Any:
            current[0] = step
            started = time.perf_counter()
            try:
                return method(self, *args, **kwargs)
            finally:
                current[0] = "other"
                seconds[step] = seconds.get(step, 0.0) + time.perf_counter() - started

        return run

    originals = {step: getattr(Pipeline, step) for step in ("extract", "normalize", "load")}
    for step, method in originals.items():
        setattr(Pipeline, step, labelled(step, method))
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peaks, seconds
    finally:
        done.set()
        sampler.join()
        for step, method in originals.items():
            setattr(Pipeline, step, method)


def idle_process(base: str, realm_id: str, work: Path, rounds: int) -> float:
    """The median wall time of an idle `qbo sync` process (start-up included), after a connect and a
    first sync of the realm into a warehouse of its own."""
    redirect = "http://127.0.0.1:9/callback"  # the code flow's: nothing listens, the code is read here
    env = {
        **os.environ,
        "SOURCES__QUICKBOOKS__CLIENT_ID": DEFAULT_CLIENT_ID,
        "SOURCES__QUICKBOOKS__CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
        "SOURCES__QUICKBOOKS__TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "SOURCES__QUICKBOOKS__REDIRECT_URI": redirect,
        "SOURCES__QUICKBOOKS__BUDGET_URL": f"sqlite:///{work / 'budget.sqlite'}",
        "SOURCES__QUICKBOOKS__PIPELINES_DIR": str(work / "cli-pipelines"),
    }
    qbo = [
        str(Path(sys.executable).with_name("qbo")),
        "--qbo-base-url",
        base,
        "--warehouse",
        str(work / "cli.duckdb"),
        "--store",
        f"sqlite:///{work / 'store.sqlite'}",
    ]
    consent = requests.get(
        f"{base}/connect/oauth2",
        params={
            "client_id": DEFAULT_CLIENT_ID,
            "response_type": "code",
            "scope": "com.intuit.quickbooks.accounting",
            "redirect_uri": redirect,
            "realmId": realm_id,
        },
        allow_redirects=False,
        timeout=30,
    )
    code = consent.headers["location"].split("code=")[1].split("&")[0]

    def run(*args: str) -> float:
        started = time.perf_counter()
        done = subprocess.run([*qbo, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"qbo {' '.join(args)} failed: {done.stderr[-800:]}")
        return time.perf_counter() - started

    run("connect", "--code", code, "--realm", realm_id)
    first = run("sync")
    idle = statistics.median(run("sync") for _ in range(rounds))
    print(f"  qbo sync as a process: first {first:.1f} s, idle {idle:.2f} s (median of {rounds})")
    return idle


def main() -> None:
    fewer_malloc_arenas()  # as `qbo` does first: the figures are those of `qbo sync`
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--company", default="demo", choices=("tiny", "demo", "medium", "large"))
    parser.add_argument("--db", type=Path, help="default: var/bench/sandbox-<company>.db")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--process-rounds",
        type=int,
        help="idle `qbo sync` processes timed, after one first sync as a process [default: 3 for demo, "
        "0 otherwise: a bigger company's first sync would be paid twice]",
    )
    args = parser.parse_args()
    if args.process_rounds is None:
        args.process_rounds = 3 if args.company in ("tiny", "demo") else 0
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
            with step_peaks() as (peaks, steps):
                result = sync_realm(
                    client, warehouse=work / "warehouse.duckdb", pipelines_dir=work / "pipelines"
                )
            seconds = time.perf_counter() - started
            rows = sum(result.rows.values())
            print(
                f"  {label:<5} {rows:>10,} records in {seconds:8.1f} s = {rows / seconds:9,.0f} records/s, "
                f"{result.requests:>6,} HTTP requests ({result.retries} retried)"
            )
            if not steps:  # a settled realm that QBO had nothing new for: the sync ended before dlt
                print("        no dlt step ran: nothing new since the last sync's checkpoints")
            else:
                print("        resident MiB at most: " + ", ".join(f"{k} {v:.0f}" for k, v in peaks.items()))
                print("        seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in steps.items()))
            if result.normalize_workers > 1:  # many rows to normalise: a process per core
                children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
                print(f"        normalize processes: resident MiB at most {children:.0f} each")
            emit(f"sync.{args.company}.{label}.seconds", seconds, "s")
            emit(f"sync.{args.company}.{label}.requests", result.requests, "requests")
        print(f"  peak memory of the syncing process: {peak_mib():.0f} MiB (after imports: {before:.0f} MiB)")
        emit(f"sync.{args.company}.peak_mib", peak_mib(), "MiB")
        if args.process_rounds > 0:
            idle = idle_process(base, realm_id, work, args.process_rounds)
            emit(f"sync.{args.company}.idle_process.seconds", idle, "s")


if __name__ == "__main__":
    main()
