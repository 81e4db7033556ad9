"""How big the warehouse grows: bytes per 1M QBO invoices, in DuckDB (and PostgreSQL when given a URL).

    uv run python bench/warehouse_size_bench.py [--invoices 100000] [--postgres postgresql://...]

Invoices are the sandbox generator's (the `tiny` company, generated in memory), copied to N records
with their own Id, DocNumber, dates and amounts, and merged into `raw_qbo` by the very dlt source a
sync uses (`quickbooks_docs`: one row per record on (realm_id, id), lines in child tables). Then a
tenth of them is loaded again as edited (a later SyncToken): the merge keeps one row per record, so
the size is a function of the records, not of how often they are synced. The figure per 1M invoices is
extrapolated linearly from N (1M takes long on two cores): the output says so. With --postgres, the
same load goes into a database of its own made on that server (dropped after), sized by
pg_database_size less an empty database's size. Prints; asserts nothing.
"""

from __future__ import annotations

import argparse
import copy
import os
import secrets
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

from bench.harness import REALM_ID, ROOT
from pipelines.runtime.warehouse import QBO_DATASET, qbo_pipeline
from sandbox.generator import populate
from sandbox.store import Realm, Store
from sources.quickbooks import quickbooks_docs

CHUNK = 10_000  # invoices per load: one merge each, as a sync's pages would be
MILLION = 1_000_000


def templates(seed: int) -> list[dict[str, Any]]:
    """The tiny company's invoices, as the sandbox serves them."""
    store = Store()
    realm = Realm(REALM_ID, "tiny", seed, "America/Los_Angeles")
    store.add_realm(realm, time.time())
    populate(store, realm, "tiny", seed)
    rows = store.execute("SELECT id FROM entities WHERE realm_id = ? AND entity = 'Invoice'", (REALM_ID,))
    docs = store.docs_by_ids(REALM_ID, "Invoice", [row[0] for row in rows.fetchall()])
    store.close()
    return list(docs.values())


def invoice(template: dict[str, Any], n: int, version: int = 0) -> dict[str, Any]:
    """Invoice number `n`: its own Id, number, dates and amounts (so columns compress as real ones)."""
    doc = copy.deepcopy(template)
    doc["Id"] = str(n)
    doc["DocNumber"] = str(100_000 + n)
    doc["SyncToken"] = str(version)
    day = f"20{20 + n % 6}-{1 + n % 12:02d}-{1 + n % 28:02d}"
    doc["TxnDate"] = day
    if "DueDate" in doc:
        doc["DueDate"] = day
    cents = (n * 7919) % 100_000
    for line in doc.get("Line", []):
        if "Amount" in line:
            line["Amount"] = round(float(line["Amount"]) + cents / 100, 2)
    doc["TotalAmt"] = round(sum(float(line.get("Amount", 0)) for line in doc.get("Line", [])) / 2, 2)
    doc["Balance"] = doc["TotalAmt"] if n % 3 else 0
    stamp = f"{day}T{n % 24:02d}:{n % 60:02d}:{version:02d}-07:00"
    doc["MetaData"] = {"CreateTime": stamp, "LastUpdatedTime": stamp}
    return doc


def batches(
    docs: list[dict[str, Any]], first: int, last: int, version: int
) -> Iterator[list[dict[str, Any]]]:
    for start in range(first, last + 1, CHUNK):
        yield [invoice(docs[n % len(docs)], n, version) for n in range(start, min(start + CHUNK, last + 1))]


def load(warehouse: str | Path, pipelines: Path, docs: list[dict[str, Any]], count: int) -> float:
    """All `count` invoices, then a tenth of them again as edited; the seconds it took."""
    pipeline = qbo_pipeline(REALM_ID, warehouse, pipelines)
    started = time.perf_counter()
    for part in batches(docs, 1, count, 0):
        pipeline.run(quickbooks_docs(REALM_ID, {"Invoice": part}))
    for part in batches(docs, 1, max(1, count // 10), 1):
        pipeline.run(quickbooks_docs(REALM_ID, {"Invoice": part}))
    return time.perf_counter() - started


def per_million(size: int, count: int) -> str:
    return f"{size / count * MILLION / 2**30:.2f} GiB per 1M invoices"


def duckdb_size(docs: list[dict[str, Any]], count: int, work: Path) -> None:
    warehouse = work / "warehouse.duckdb"
    seconds = load(warehouse, work / "pipelines", docs, count)
    with duckdb.connect(str(warehouse)) as db:
        db.execute("CHECKPOINT")
        rows = db.execute(f"SELECT count(*), count(DISTINCT id) FROM {QBO_DATASET}.invoice").fetchone()
        names = db.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = ? AND table_name LIKE 'invoice%' ORDER BY 1",
            [QBO_DATASET],
        ).fetchall()
        tables = [
            (name, db.execute(f"SELECT count(*) FROM {QBO_DATASET}.{name}").fetchone()[0])  # type: ignore[index]
            for (name,) in names
        ]
    size = warehouse.stat().st_size
    assert rows is not None
    print(f"  DuckDB: {count:,} invoices loaded, a tenth again edited, in {seconds:.0f} s")
    print(f"    raw_qbo.invoice holds {rows[0]:,} rows for {rows[1]:,} invoices (merge: one row per record)")
    print("    tables: " + ", ".join(f"{name} {n:,} rows" for name, n in tables))
    print(f"    file {size / 2**20:.1f} MiB: {per_million(size, count)}")


def postgres_size(docs: list[dict[str, Any]], count: int, work: Path, server: str) -> None:
    database = f"qbo_size_{secrets.token_hex(4)}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    try:
        url = server.rsplit("/", 1)[0] + f"/{database}"
        with psycopg.connect(url) as conn:
            empty = int(conn.execute("SELECT pg_database_size(current_database())").fetchone()[0])  # type: ignore[index]
        seconds = load(url, work / "pipelines-pg", docs, count)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
            size = int(conn.execute("SELECT pg_database_size(current_database())").fetchone()[0])  # type: ignore[index]
            rows = conn.execute(f"SELECT count(*), count(DISTINCT id) FROM {QBO_DATASET}.invoice").fetchone()
        assert rows is not None
        print(f"  PostgreSQL: {count:,} invoices loaded, a tenth again edited, in {seconds:.0f} s")
        print(f"    raw_qbo.invoice holds {rows[0]:,} rows for {rows[1]:,} invoices")
        grown = size - empty
        print(f"    database {grown / 2**20:.1f} MiB above an empty one: {per_million(grown, count)}")
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=100_000, help="invoices to load [100000]")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres", help="a PostgreSQL server URL (a database is made there, then dropped)")
    parser.add_argument(
        "--postgres-invoices", type=int, default=20_000, help="invoices for PostgreSQL [20000]"
    )
    args = parser.parse_args()
    work = ROOT / "var" / "bench" / "warehouse-size"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    docs = templates(args.seed)
    lines = sum(len(d.get("Line", [])) for d in docs) / len(docs)
    print(f"warehouse size bench: {len(docs)} template invoices of the tiny company, {lines:.1f} lines each")
    if args.invoices < MILLION:
        print(f"  (sizes per 1M invoices are extrapolated linearly from {args.invoices:,})")
    duckdb_size(docs, args.invoices, work)
    if args.postgres:
        postgres_size(docs, args.postgres_invoices, work, args.postgres)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
