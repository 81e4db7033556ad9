"""`qbo demo` / `make demo`: the product end to end on an embedded sandbox, no credentials needed.

Sandbox with the demo company -> connect through the real OAuth flow (the demo plays the browser)
-> full sync into the warehouse (a DuckDB file, or PostgreSQL) -> an idle incremental sync -> rows per
entity -> platform records that overlap the company (with planted drift, conflicts and matches) loaded
-> dbt build -> push to QBO -> sync -> dbt build -> the drift report of what is left for a person.
Everything it writes is under var/demo/, so it can be explored afterwards.
"""

from __future__ import annotations

import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TextIO

import requests

from pipelines.deliver.enqueue import deliver
from pipelines.drain import drain
from pipelines.mapping.policy import MasteringPolicy, Override
from pipelines.platform_load import load_platform
from pipelines.push.batch import push_all
from pipelines.report import drift as report
from pipelines.runtime.connector import Connector
from pipelines.runtime.landing import land_push_results
from pipelines.runtime.progress import Progress
from pipelines.runtime.settings import record_defaults
from pipelines.runtime.warehouse import QBO_DATASET as DATASET
from pipelines.runtime.warehouse import Warehouse
from pipelines.runtime.warehouse_sql import open_warehouse
from pipelines.sync import sync_all
from pipelines.transform.dbt_build import transform as run_transform
from sandbox.background import serving
from sandbox.demo import platform_records
from sandbox.demo.world import DEMO_TENANT, World, world
from service.app import create_app
from sources.quickbooks import table_name
from sources.quickbooks.catalog import ENTITIES

DEMO_DIR = Path("var/demo")
# the seed's §9 lets a tenant master vendors, bills and payments on the platform: the demo tenant does
DEMO_POLICY = MasteringPolicy(
    [Override(tenant=DEMO_TENANT, entity=e, master="platform") for e in ("Vendor", "Bill", "Payment")]
)


class DemoFailed(RuntimeError):
    """A step of the demo did not do what it shows; the message says which."""


def run(
    company: str = "demo",
    seed: int = 1,
    out: TextIO | None = None,
    workdir: Path = DEMO_DIR,
    round_trip: bool = True,
    warehouse_url: str | None = None,
    record_as: str | None = None,
) -> dict[str, int]:
    """Serve, connect, sync, load the platform, transform, push, sync, transform, report (without
    `round_trip`: stop before the push); returns the rows per entity QBO had at first. The warehouse is
    workdir's DuckDB file, or the PostgreSQL database `warehouse_url` names. With `record_as` (the command
    that ran it), its warehouse, store and dlt state become the project's defaults (var/defaults.toml),
    so that every README command then reads the demo's data without flags."""

    def write(text: str) -> None:
        if out:
            out.write(text + "\n")
            out.flush()

    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    with world(workdir, company, seed, write, warehouse_url=warehouse_url) as w:
        sb, connector, settings, realm_id = w.sandbox, w.connector, w.settings, w.realm_id
        first = sync_all(connector, echo=write)[0]
        idle = sync_all(connector, echo=lambda _: None)[0]
        write(f"incremental sync with nothing changed: {idle.requests} HTTP requests")
        platform_dir = workdir / "platform"
        generated = platform_records.generate(
            sb.store, realm_id, platform_dir, tenant_id=DEMO_TENANT, seed=seed, policy=DEMO_POLICY
        )
        counts = warehouse_counts(settings.warehouse_target, realm_id)
        write(f"\nwarehouse {settings.warehouse_label} (dataset {DATASET}), rows per entity:")
        for entity, count in counts.items():
            write(f"  {entity:<16}{count:>10,}")
        write(
            f"  {'total':<16}{sum(counts.values()):>10,}   ({first.requests} HTTP requests for the full sync)"
        )
        write(f"\nplatform records overlapping the company: {platform_dir} (planted.json says what differs)")
        loaded = load_platform(
            str(platform_dir),
            warehouse=settings.warehouse_target,
            pipelines_dir=settings.pipelines_path,
            realms=connector.tenant_realms(),
        )
        for line in loaded.lines():
            write(line)
        as_of = date.fromisoformat(generated.planted.as_of)
        transform(connector, as_of, write)
        if round_trip:
            write(
                "\npushing platform-mastered records to QBO (voids and deactivations wait for approval) ..."
            )
            push_all(connector, echo=write)
            write("\nsyncing QBO again, then transforming: what is left is what a person must decide")
            sync_all(connector, echo=write)
            transform(connector, as_of, write)
            edited = real_time(w, write)
            platform_feed(w, edited, as_of, write)
    paths = report.write(report.read(settings.warehouse_target), workdir / "report")
    write(f"\ndrift report: {paths['html'].resolve()}")
    write(f"  also {paths['xlsx'].name} and CSV files in {paths['html'].parent}")
    if record_as is not None:
        recorded = record_defaults(
            record_as,
            warehouse=settings.warehouse_target,
            store_url=settings.store_url,
            pipelines_dir=settings.pipelines_path,
        )
        if recorded is not None:
            write(
                f"\nqbo commands now read this warehouse and store by default ({recorded}; flags, the "
                "environment and .dlt/ settings come first);\n"
                "  try: uv run qbo ask 'top 5 customers by open balance'"
            )
    return counts


def real_time(w: World, write: Callable[[str], None]) -> str:
    """The gateway on loopback: a back-office edit arrives as a signed webhook and the worker loads it;
    a platform record posted to the gateway is in QBO before the call returns. Returns the edited
    customer's QBO Id."""
    key = secrets.token_urlsafe(24)
    settings = replace(
        w.settings,
        webhook_verifier_token=w.sandbox.config.webhooks.verifier_token,
        gateway_api_keys={key: frozenset({DEMO_TENANT})},
    )
    connector = Connector(settings)
    queue = connector.store.events
    write("\nreal time: the gateway (qbo serve) on loopback, receiving the sandbox's webhooks ...")
    with serving(create_app(connector)) as (url, _server):
        w.sandbox.configure(
            {"webhooks": {"url": f"{url}/integrations/quickbooks/webhook", "window_seconds": 0.2}}
        )
        realm = w.sandbox.store.realm(w.realm_id)
        with open_warehouse(settings.warehouse_target) as db:
            (customer,) = db.execute(
                "SELECT min(qbo_id::int) FROM sync.sync_mappings "
                "WHERE entity = 'Customer' AND status = 'linked' AND realm_id = ?",
                [w.realm_id],
            ).fetchone()
        taxable = bool(w.sandbox.rules.read(realm, "Customer", str(customer)).get("Taxable"))
        # the accountant adds a note (the platform's field) and flips the tax flag (QBO's, by policy)
        edit = {"Notes": "edited in the back office", "Taxable": not taxable}
        w.sandbox.rules.edit(realm, "Customer", str(customer), edit)
        deadline = time.monotonic() + 15
        while not queue.counts().get("pending") and time.monotonic() < deadline:
            time.sleep(0.05)
        now = datetime.now(UTC).isoformat()
        answer = requests.post(
            f"{url}/integrations/quickbooks/customers",
            headers={"x-api-key": key},
            json={
                "id": "demo-realtime-1",
                "tenantId": DEMO_TENANT,
                "displayName": "Walk-in Customer (real time)",
                "createdAt": now,
                "updatedAt": now,
            },
            timeout=60,
        )
        body = answer.json()
        if answer.status_code != 201:
            raise DemoFailed(f"the gateway refused a real-time push: {body}")
        write(f"  POST /integrations/quickbooks/customers: created QBO Customer {body['qboId']} in one call")
    result = drain(connector, echo=lambda _line: None)
    land_push_results(connector)  # the real-time push, into the push log
    with open_warehouse(settings.warehouse_target) as db:
        notes = db.execute(f"SELECT notes FROM {DATASET}.customer WHERE id = ?", [str(customer)]).fetchone()
    if result.events == 0 or not notes or notes[0] != "edited in the back office":
        raise DemoFailed(f"the webhook did not bring the edit of customer {customer} into the warehouse")
    write(
        f"  webhook: {result.events} event(s) drained, {result.fetched} record(s) fetched in "
        f"{result.requests} request(s); customer {customer} in the warehouse: {notes[0]!r}"
    )
    return str(customer)


def platform_feed(w: World, customer: str, as_of: date, write: Callable[[str], None]) -> None:
    """QBO -> platform: after the transform, what QBO changed is platform DTOs in the tenant's feed
    (GET /integrations/quickbooks/changes); the back-office edit among them."""
    write("\nQBO -> platform: what QBO changed, as platform DTOs in the changes feed ...")
    transform(w.connector, as_of, write)
    deliver(w.connector, echo=lambda line: write(f"  {line}"))
    feed = w.connector.store.outbox.page(DEMO_TENANT, 0, 500)
    edited = [c for c in feed if c["entity"] == "Customer" and c["qboId"] == customer]
    if not edited:
        raise DemoFailed(f"the back-office edit of customer {customer} did not reach the platform feed")
    record = edited[-1]["record"]
    write(
        f"  feed for tenant {DEMO_TENANT}: {len(feed)} change(s); customer {customer} as the platform "
        f"reads it: id {record.get('id')!r}, defaultTaxable {record.get('defaultTaxable')}, "
        f"notes {record.get('notes')!r} ({edited[-1]['operation']}, cursor {edited[-1]['cursor']})"
    )


def transform(connector: Connector, as_of: date, write: Callable[[str], None]) -> None:
    write("\ntransforming (dbt build: staging, mappings, drift, conflicts, outbound, finance) ...")
    warehouse = connector.settings.warehouse_target
    with Progress.live(write) as progress:  # one line per model on stderr: the build takes a minute
        result = run_transform(connector, policy=DEMO_POLICY, as_of=as_of, echo=progress)
    write(result.summary())
    if not result.success:
        raise DemoFailed("dbt build failed; the lines above say where")
    with open_warehouse(warehouse) as db:
        actions = dict(db.execute("SELECT action, count(*) FROM sync.sync_drift GROUP BY action").fetchall())
    write(
        f"drift: {sum(actions.values())} fields ({actions.get('push', 0)} to push, "
        f"{actions.get('pull', 0)} to pull, {actions.get('review', 0)} to review)"
    )


def warehouse_counts(warehouse: Warehouse, realm_id: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    with open_warehouse(warehouse) as db:
        tables = db.tables(DATASET)
        for entity in sorted(ENTITIES):
            table = table_name(entity)
            if table in tables:
                counts[entity] = db.execute(
                    f"SELECT COUNT(*) FROM {DATASET}.{table} WHERE realm_id = ?", [realm_id]
                ).fetchone()[0]
            else:
                counts[entity] = 0
    return counts
