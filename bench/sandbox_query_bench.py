"""How fast the sandbox serves a 1000-row page from an entity with 1,000,000 rows, and its memory.

    uv run python bench/sandbox_query_bench.py [--rounds 5] [--company large] [--db FILE]

The large company (1,000,000 invoices) is generated once into an SQLite file under var/bench/ and
reused. The sandbox then runs as its own process (`qbo sandbox --db ...`), so the memory figure is
the server's alone. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import REALM_ID, ROOT, emit, ensure_company, sandbox_process
from sandbox.background import connect
from sandbox.settings import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

TARGET_MS = 100.0


def rss_kib(pid: int) -> tuple[int, int]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def timed(session: requests.Session, url: str, query: str, rounds: int) -> dict[str, float]:
    """Client time to the last byte (parsing excluded), the server's own `Service-Time`, the first call."""
    client, server, rows = [], [], 0
    for _ in range(rounds):
        started = time.perf_counter()
        response = session.get(url, params={"query": query, "minorversion": 75}, timeout=60)
        _ = response.content
        client.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        server.append(float(response.headers["Service-Time"].split(",")[0].split("=")[1]))
        rows = len(response.json()["QueryResponse"].get("Invoice", []))
    return {
        "client": statistics.median(client),
        "server": statistics.median(server),
        "first": client[0],
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--company", default="large", choices=("tiny", "demo", "medium", "large"))
    parser.add_argument("--db", type=Path, help="default: var/bench/sandbox-<company>.db")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    args.db = args.db or ROOT / "var" / "bench" / f"sandbox-{args.company}.db"
    ensure_company(args.db, args.company, args.seed)

    with sandbox_process(args.db, args.company, args.seed) as (base, server):
        realm_id = REALM_ID
        tokens = connect(base, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, realm_id)
        session = requests.Session()
        session.headers.update(
            {"Authorization": f"Bearer {tokens['access_token']}", "Accept": "application/json"}
        )
        url = f"{base}/v3/company/{realm_id}/query"
        total = session.get(url, params={"query": "SELECT COUNT(*) FROM Invoice"}, timeout=60).json()
        count = total["QueryResponse"]["totalCount"]
        order = "ORDERBY MetaData.LastUpdatedTime"
        probe = session.get(
            url,
            params={"query": f"SELECT * FROM Invoice {order} STARTPOSITION {count // 2} MAXRESULTS 1"},
            timeout=60,
        ).json()
        middle = probe["QueryResponse"]["Invoice"][0]["MetaData"]["LastUpdatedTime"]

        print(f"\nsandbox query bench: Invoice has {count:,} rows; {args.rounds} rounds each (medians)")
        print(f"  {'page':<26} {'client':>9} {'server':>9} {'first':>9}  rows")
        cases = [
            ("cursor, first page", f"SELECT * FROM Invoice {order} MAXRESULTS 1000"),
            (
                "cursor, from the middle",
                f"SELECT * FROM Invoice WHERE MetaData.LastUpdatedTime >= '{middle}' {order} MAXRESULTS 1000",
            ),
            ("STARTPOSITION 1", f"SELECT * FROM Invoice {order} STARTPOSITION 1 MAXRESULTS 1000"),
            ("STARTPOSITION 500,001", f"SELECT * FROM Invoice {order} STARTPOSITION 500001 MAXRESULTS 1000"),
            ("STARTPOSITION 999,001", f"SELECT * FROM Invoice {order} STARTPOSITION 999001 MAXRESULTS 1000"),
            ("COUNT(*)", "SELECT COUNT(*) FROM Invoice"),
        ]
        worst = 0.0
        for label, query in cases:
            t = timed(session, url, query, args.rounds)
            if t["rows"]:
                worst = max(worst, t["client"])
            client_ms, server_ms, first_ms = t["client"], t["server"], t["first"]
            print(
                f"  {label:<26} {client_ms:6.1f} ms {server_ms:6.0f} ms {first_ms:6.1f} ms  {t['rows']:>5.0f}"
            )
        print("  client: HTTP time on loopback to the last byte (JSON parsing excluded);")
        print("  server: its Service-Time header; first: the first call, which may build the position")
        print("  index that deep STARTPOSITION pages are served from")
        emit(f"sandbox.{args.company}.worst_page_ms", worst, "ms")
        rss, hwm = rss_kib(server.pid)
        print(
            f"\n  worst median page {worst:.1f} ms = {worst / TARGET_MS:.2f} x the {TARGET_MS:.0f} ms target"
        )
        print(
            f"  sandbox memory: RSS {rss / 1024:.0f} MiB, peak {hwm / 1024:.0f} MiB "
            f"(database file {args.db.stat().st_size / 2**20:.0f} MiB on disk)"
        )


if __name__ == "__main__":
    main()
