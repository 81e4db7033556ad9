"""Webhook intake under load: events/s, response times, and proof that each event was stored once.

    uv run python bench/webhook_bench.py [--events 10000] [--concurrency 64]
                                         [--store postgresql://root@127.0.0.1:5432/test]

`qbo serve` runs as its own process on a free loopback port, over a fresh integration store: a
SQLite file in a temp directory, or with --store a private schema of that PostgreSQL database (both
dropped afterwards). This process POSTs the deliveries from a thread pool, a Session per thread:
mostly CloudEvents arrays of 1-5 events over several realms, some legacy notifications, ~10% exact
re-posts (Intuit's retries), ~5% with a bad signature. Then the store is read back: every distinct
valid event stored exactly once, no event of a refused delivery stored, every delivery answered
200 or 401 as it should be. Prints figures; the time is never judged, correctness is (exit 1 on FAIL).
Client and server share this machine's CPUs, so the figures are a floor, not the gateway's ceiling.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

from cryptography.fernet import Fernet

from bench.harness import ROOT, emit
from bench.webhook_load import BAD, WEBHOOK_PATH, deliveries, percentile, post_all, verify
from pipelines.store.schema import engine_for
from sandbox.background import free_port

VERIFIER = "bench-verifier-token-0123456789"
INTUIT_LIMIT = 3.0  # seconds: Intuit counts a slower answer as a failed delivery and retries it


@contextmanager
def store_url(base: str | None, work: Path) -> Iterator[str]:
    """A fresh integration store: SQLite in `work`, or a private schema of the PostgreSQL `base`."""
    if base is None or base.startswith("sqlite"):
        yield base or f"sqlite:///{work / 'integration.sqlite'}"
        return
    plain = base.replace("postgresql+psycopg://", "postgresql://")
    schema = f"qbo_bench_{secrets.token_hex(6)}"
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{plain.replace('postgresql://', 'postgresql+psycopg://')}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@contextmanager
def gateway_process(url: str, work: Path) -> Iterator[tuple[str, Path, subprocess.Popen[bytes]]]:
    """`qbo serve` on a free loopback port over the store at `url`: its base URL, stderr file, process."""
    port = free_port()
    env = os.environ | {
        "SOURCES__QUICKBOOKS__STORE_URL": url,
        "SOURCES__QUICKBOOKS__WEBHOOK_VERIFIER_TOKEN": VERIFIER,
        "SOURCES__QUICKBOOKS__TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "SOURCES__QUICKBOOKS__WAREHOUSE": str(work / "warehouse.duckdb"),
        "RUNTIME__DLTHUB_TELEMETRY": "false",
    }
    command = [sys.executable, "-m", "pipelines.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    errors = work / "gateway.stderr"
    with errors.open("wb") as stderr:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{base}/health", timeout=1)  # 401 without a key: it answers, it is up
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit(f"the gateway did not start:\n{errors.read_text()[-2000:]}") from None
                time.sleep(0.2)
        yield base, errors, server
    finally:
        server.terminate()
        server.wait(timeout=10)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000, help="deliveries (notifications) to POST")
    parser.add_argument("--concurrency", type=int, default=64, help="client threads posting at once")
    parser.add_argument("--store", help="integration store: default a temp SQLite file; or postgresql://...")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    batch = deliveries(args.events, VERIFIER, seed=args.seed)
    with (
        tempfile.TemporaryDirectory(prefix="qbo-webhook-bench-") as tmp,
        store_url(args.store, Path(tmp)) as url,
    ):
        backend = url.split(":", 1)[0].split("+", 1)[0]
        where = "a temp file" if backend == "sqlite" else "schema " + url.rsplit("%3D", 1)[-1]
        print(
            f"webhook bench: {len(batch):,} deliveries, {args.concurrency} client threads, "
            f"{backend} store ({where})"
        )
        with gateway_process(url, Path(tmp)) as (base, errors, server):
            cpu_before, client_before = cpu_seconds(server.pid), time.process_time()
            outcomes, wall = post_all(base + WEBHOOK_PATH, batch, args.concurrency)
            gateway_cpu = cpu_seconds(server.pid) - cpu_before
            client_cpu = time.process_time() - client_before
        logged = errors.read_text(errors="replace")
        engine = engine_for(url)
        try:
            verdict = verify(batch, outcomes, engine)
        finally:
            engine.dispose()

    times = [o.seconds for o in outcomes if o.status is not None]
    kinds = verdict.posted
    print(
        f"  posted      {verdict.deliveries:>8,} deliveries: {kinds['cloudevents']:,} CloudEvents, "
        f"{kinds['legacy']:,} legacy, {kinds['duplicate']:,} exact re-posts, "
        f"{sum(kinds[k] for k in BAD):,} badly signed"
    )
    print(
        f"  throughput  {verdict.stored_rows / wall:>8,.0f} events accepted/s "
        f"({verdict.stored_rows:,} stored in {wall:.1f} s), {len(batch) / wall:,.0f} deliveries/s"
    )
    print(
        f"  gateway CPU {gateway_cpu:>8.1f} s = {gateway_cpu / wall:.0%} of one core "
        f"({os.cpu_count()} cores here, shared with the client: {client_cpu:.1f} s)"
    )
    print(
        "  response ms "
        + ", ".join(f"p{p} {percentile(times, p) * 1000:,.0f}" for p in (50, 95, 99))
        + f", max {max(times, default=0) * 1000:,.0f}; "
        f"{sum(1 for t in times if t > INTUIT_LIMIT):,} over Intuit's {INTUIT_LIMIT:.0f} s"
    )
    print(
        f"  answers     {verdict.statuses[200]:,} x 200, {verdict.rejected:,} x 401 rejected, "
        f"{sum(n for s, n in verdict.statuses.items() if s not in (200, 401)):,} other, "
        f"{verdict.lost:,} unanswered"
    )
    print(
        f"  dedupe      {verdict.duplicates_absorbed:,} duplicate events absorbed; "
        f"{verdict.expected_events:,} distinct valid events, {verdict.stored_rows:,} rows stored, "
        f"{verdict.missing} missing, {verdict.bad_stored} of refused deliveries stored"
    )
    if logged.strip():
        tracebacks = logged.count("Traceback (most recent call last)")
        print(f"  gateway stderr: {len(logged.splitlines()):,} lines, {tracebacks} tracebacks; last lines:")
        for line in logged.strip().splitlines()[-8:]:
            print(f"    {line[:200]}")
    for text in verdict.errors:
        print(f"  unexpected answer: {text[:300]}")
    emit(f"webhook.{backend}.events_per_s", verdict.stored_rows / wall, "events/s")
    emit(f"webhook.{backend}.p99_ms", percentile(times, 99) * 1000, "ms")
    if verdict.ok:
        print("  PASS: every valid event stored exactly once, no refused event stored, no delivery lost")
    else:
        print("  FAIL: " + "; ".join(verdict.problems))
        raise SystemExit(1)


if __name__ == "__main__":
    main()
