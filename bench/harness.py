"""What the benches share: a company generated once into var/bench/, and the sandbox as its own process."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from sandbox.background import free_port
from sandbox.generator import populate
from sandbox.launch import FIRST_REALM
from sandbox.store import Realm, Store

ROOT = Path(__file__).resolve().parents[1]
REALM_ID = str(FIRST_REALM)
JSON_PREFIX = "BENCH-JSON "


def emit(name: str, value: float, unit: str) -> None:
    """One figure as a machine-readable line beside the human ones, so `bench/table.py` collects it
    without parsing prose. `name` is a key of `bench/goals.py` (e.g. `sync.demo.full.seconds`)."""
    print(JSON_PREFIX + json.dumps({"name": name, "value": round(float(value), 4), "unit": unit}), flush=True)


def ensure_company(db: Path, company: str, seed: int, realm_id: str = REALM_ID) -> None:
    """Generate the company into `db` as `realm_id` unless it is already there (large takes about two
    minutes)."""
    store = Store(db)
    if store.realm(realm_id) is None:
        print(f"generating the {company} company (realm {realm_id}) into {db} (once) ...", flush=True)
        started = time.perf_counter()
        realm = Realm(realm_id, company, seed, "America/Los_Angeles")
        store.add_realm(realm, time.time())
        counts = populate(store, realm, company, seed, progress=lambda m: print(f"  {m}", flush=True))
        print(f"  generated {sum(counts.values()):,} records in {time.perf_counter() - started:.1f} s")
    store.close()


@contextmanager
def sandbox_process(db: Path, company: str, seed: int) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`qbo sandbox --db db` on a free loopback port until the block ends: its base URL and process."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "pipelines.cli",
        "sandbox",
        "--port",
        str(port),
        "--db",
        str(db),
        "--company",
        company,
        "--seed",
        str(seed),
    ]
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{base}/_sandbox/realms", timeout=1)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the sandbox did not start") from None
                time.sleep(0.2)
        yield base, server
    finally:
        server.terminate()
        server.wait(timeout=10)
