"""The flows as a user sees them: deployments as documented, realms synced side by side with one
warehouse writer and nothing lost, stored webhooks drained, a backfill window loaded once, I/O retried
and the rest not.

One module, so a parallel test run (pytest-xdist --dist loadfile) starts one Prefect server for them.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, datetime, timedelta

import requests
from prefect import Flow, get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitUpdate
from prefect.client.schemas.objects import ConcurrencyLimitStrategy
from prefect.exceptions import ObjectNotFound
from prefect.flows import load_flow_from_entrypoint

from flows import sync as sync_flows
from flows.drain import webhook_drain_flow
from flows.runtime import IO_RETRIES
from flows.serve import PREFECT_YAML, deployment_specs, deployments
from flows.sync import backfill_flow, sync_flow
from flows.transform import transform_flow
from flows.writer import WRITER_LIMIT, ensure_concurrency_limits
from pipelines.runtime.connector import Connector
from pipelines.runtime.settings import Settings
from pipelines.sync import SyncFailed
from sandbox.demo.world import World
from sources.quickbooks.client import RetryPolicy
from sources.quickbooks.extract import parse_time
from sources.quickbooks.webhook_payloads import parse
from tests.flows.conftest import ENTITIES, REALMS, TENANT, task_runs

# what the documentation promises: (flow, cron or interval, timezone); None = run on demand only
SCHEDULES = {
    "hourly": ("qbo-sync", "15 * * * *", "UTC"),
    "every-minute": ("qbo-webhook-drain", timedelta(minutes=1), "UTC"),
    "nightly": ("qbo-reconcile", "0 2 * * *", "UTC"),
    "nightly-retention": ("qbo-retention", "30 3 * * *", "UTC"),
    "manual-push": ("qbo-push", None, None),
    "manual-backfill": ("qbo-backfill", None, None),
    "manual-transform": ("qbo-transform", None, None),
    "sync-realm": ("qbo-sync-realm", None, None),  # started per realm by the hourly sync's fan-out
}


def test_prefect_yaml_entrypoints_import_and_schedules_are_as_documented() -> None:
    specs = deployment_specs(PREFECT_YAML)
    assert {spec["name"]: spec for spec in specs}.keys() == SCHEDULES.keys()
    for spec in specs:
        # loaded from the file, as `prefect deploy` loads it
        flow = load_flow_from_entrypoint(spec["entrypoint"], use_placeholder_flow=False)
        assert isinstance(flow, Flow) and flow.name == SCHEDULES[spec["name"]][0], spec["entrypoint"]
        if spec["schedules"]:  # a scheduled run starts with these parameters alone
            flow.validate_parameters(spec.get("parameters") or {})
        if spec["name"] != "sync-realm":  # a run per realm at once: that is the point of it
            assert spec["concurrency_limit"]["limit"] == 1, spec["name"]

    served = {d.name: d for d in deployments(PREFECT_YAML)}  # what `qbo schedule` serves
    assert served.keys() == SCHEDULES.keys()
    for name, (_, when, timezone) in SCHEDULES.items():
        schedules = [s.schedule for s in served[name].schedules or []]
        if when is None:
            assert schedules == [], name
            continue
        (schedule,) = schedules
        assert (schedule.cron if isinstance(when, str) else schedule.interval) == when, name
        assert schedule.timezone == timezone
        assert served[name].concurrency_limit == 1
    assert (
        served["every-minute"].concurrency_options.collision_strategy is ConcurrencyLimitStrategy.CANCEL_NEW
    )
    assert served["manual-push"].concurrency_options.collision_strategy is ConcurrencyLimitStrategy.ENQUEUE

    deployment_id = served["nightly"].apply()  # the server accepts it as served
    with get_client(sync_client=True) as client:
        applied = client.read_deployment(deployment_id)
    assert applied.entrypoint == "flows.reconcile.reconcile_flow"
    assert [s.schedule.cron for s in applied.schedules] == ["0 2 * * *"]
    assert applied.global_concurrency_limit is not None and applied.global_concurrency_limit.limit == 1


def test_ensure_concurrency_limits_creates_the_writer_limit_and_keeps_it_at_one() -> None:
    with get_client(sync_client=True) as client:
        with suppress(ObjectNotFound):  # absent is where this test starts
            client.delete_global_concurrency_limit_by_name(WRITER_LIMIT)
        assert ensure_concurrency_limits() == {WRITER_LIMIT: "created"}
        writer = client.read_global_concurrency_limit_by_name(WRITER_LIMIT)
        assert (writer.limit, writer.active) == (1, True)

        client.update_global_concurrency_limit(WRITER_LIMIT, GlobalConcurrencyLimitUpdate(limit=4))
        assert ensure_concurrency_limits() == {WRITER_LIMIT: "updated"}  # two writers would break DuckDB
        assert client.read_global_concurrency_limit_by_name(WRITER_LIMIT).limit == 1
        assert ensure_concurrency_limits() == {WRITER_LIMIT: "ok"}


def assert_warehouse_equals_sandbox(world: World, realm_id: str) -> None:
    for entity in ENTITIES:
        assert world.warehouse_rows(realm_id, entity) == world.truth(realm_id, entity), (realm_id, entity)


def test_sync_flow_loads_every_connected_realm_in_parallel_and_rescans_them(world: World) -> None:
    state = sync_flow(entities=ENTITIES, parallel=2, return_state=True)
    assert state.is_completed(), state.message
    rows = state.result()
    assert sorted(rows) == list(REALMS)
    for realm_id in REALMS:
        assert rows[realm_id] == sum(len(world.truth(realm_id, e)) for e in ENTITIES)
        assert_warehouse_equals_sandbox(world, realm_id)  # every record, its version, of its own realm
    runs = task_runs(state.state_details.flow_run_id)
    first, second = (runs[f"sync realm {realm_id}"] for realm_id in REALMS)
    assert first.state.is_completed() and second.state.is_completed()
    assert first.start_time < second.end_time and second.start_time < first.end_time  # side by side
    assert world.connector.store.runs.last_ok(REALMS[0]) is not None  # on record for `qbo status`

    # a re-scan compares each realm's live ids in the warehouse while the other realm loads
    for realm_id in REALMS:
        world.mutate(realm_id, entity="Payment", id="1", op="delete")  # its invoice's balance changes too
        world.mutate(realm_id, entity="Customer", id="1", op="update", changes={"Notes": "re-scanned"})
    again = sync_flow(entities=ENTITIES, parallel=2, full_refresh=True, return_state=True)
    assert again.is_completed(), again.message
    for realm_id in REALMS:
        assert_warehouse_equals_sandbox(world, realm_id)
        assert world.warehouse_rows(realm_id, "Payment")["1"] == (None, True)  # marked deleted, not kept live
    with get_client(sync_client=True) as client:
        writer = client.read_global_concurrency_limit_by_name(WRITER_LIMIT)
    assert writer.limit == 1 and writer.active_slots == 0  # the flows created it, and gave every slot back


def test_the_drain_flow_loads_what_stored_webhooks_say_changed(world: World) -> None:
    realm_id = REALMS[0]
    world.mutate(realm_id, entity="Customer", id="2", op="update", changes={"Notes": "told by a webhook"})
    body = (
        '[{"specversion":"1.0","id":"flow-e-1","type":"qbo.customer.updated.v1","time":"2026-12-01T10:00:00Z",'
        f'"intuitentityid":"2","intuitaccountid":"{realm_id}"}},'
        '{"specversion":"1.0","id":"flow-e-2","type":"qbo.customer.updated.v1","time":"2026-12-01T10:00:00Z",'
        '"intuitentityid":"2","intuitaccountid":"999"}]'
    )
    queue = world.connector.store.events
    assert queue.put(parse(body.encode())) == 2

    state = webhook_drain_flow(return_state=True)

    assert state.is_completed(), state.message
    figures = state.result()
    assert (figures["events"], figures["fetched"], figures["ignored"], figures["failed"]) == (2, 1, 1, 0)
    assert world.warehouse_rows(realm_id, "Customer")["2"] == world.truth(realm_id, "Customer")["2"]
    assert queue.counts() == {"done": 1, "ignored": 1}


def test_the_hourly_sync_transforms_and_delivers_qbos_changes_once(world: World) -> None:
    """The hourly deployment (deliver=True): what QBO holds reaches the platform's outbox as DTOs,
    accounts by their QBO Id and records the platform lacks with a null id; a second run adds nothing."""
    entities = [*ENTITIES, "Account", "Employee"]
    state = sync_flow(realms=[REALMS[0]], entities=entities, deliver=True, return_state=True)
    assert state.is_completed(), state.message
    names = {run.name.rsplit("-", 1)[0] for run in task_runs(state.state_details.flow_run_id).values()}
    assert {"transform", "deliver"} <= names
    outbox = world.connector.store.outbox
    changes = outbox.page(TENANT, 0, 500)
    by_entity = {c["entity"] for c in changes}
    assert {"Customer", "Invoice"} <= by_entity
    customers = [c for c in changes if c["entity"] == "Customer" and c["realmId"] == REALMS[0]]
    assert len(customers) == len(world.truth(REALMS[0], "Customer"))
    assert all(c["operation"] == "upsert" and c["record"]["id"] is None for c in customers)  # QBO-side
    assert {c["record"]["qboId"] for c in customers} == set(world.truth(REALMS[0], "Customer"))
    accounts = [c["record"] for c in changes if c["entity"] == "Account"]
    assert len(accounts) == len(world.truth(REALMS[0], "Account"))
    assert all(a["id"] == a["qboId"] and a["name"] and a["type"] and a["classification"] for a in accounts)
    employees = [c["record"] for c in changes if c["entity"] == "Employee"]
    assert employees and all(e["id"] == e["qboId"] and e["lastName"] for e in employees)

    again = sync_flow(realms=[REALMS[0]], entities=entities, deliver=True, return_state=True)
    assert again.is_completed(), again.message
    assert len(outbox.page(TENANT, 0, 500)) == len(changes)


def test_backfill_flow_loads_a_window_once(world: World) -> None:
    realm_id, entities = REALMS[1], ["Invoice", "Customer"]
    stamps = sorted(
        parse_time(stamp).astimezone(UTC)
        for (stamp,) in world.sandbox.store.execute(
            "SELECT json_extract(doc, '$.MetaData.LastUpdatedTime') FROM entities "
            "WHERE realm_id = ? AND entity IN ('Invoice', 'Customer') AND NOT deleted",
            (realm_id,),
        )
    )
    since = stamps[-3].date()  # a part of the company's history: one 30-day window of it
    until = since + timedelta(days=30)
    start, end = (datetime(d.year, d.month, d.day, tzinfo=UTC) for d in (since, until))
    expected = sum(1 for stamp in stamps if start <= stamp < end)
    assert 0 < expected < len(stamps)

    rows = backfill_flow(realm_id, since.isoformat(), until, entities=entities)
    assert rows == {realm_id: expected}
    again = backfill_flow(realm=[realm_id], since=since, until=until.isoformat(), entities=entities)
    assert again == {realm_id: 0}  # resumed: the window is on record, nothing is loaded twice
    assert_warehouse_equals_sandbox(world, realm_id)  # and the merge left the live sync's rows as they were


def test_a_gone_consent_fails_its_realm_at_once_and_the_other_realm_still_loads(world: World) -> None:
    gone = "6199"
    world.sandbox.add_realm(gone, "tiny", 9)
    world.connect_with_code(gone)
    try:
        assert requests.delete(f"{world.server.base_url}/_sandbox/realms/{gone}", timeout=10).ok
        state = sync_flow(realms=[REALMS[0], gone], entities=ENTITIES, return_state=True)
        assert state.is_failed()
        assert isinstance(state.result(raise_on_failure=False), SyncFailed)
        assert gone in state.message and REALMS[0] not in state.message
        runs = task_runs(state.state_details.flow_run_id)
        failing, fine = runs[f"sync realm {gone}"], runs[f"sync realm {REALMS[0]}"]
        assert failing.state.is_failed() and failing.run_count == 1  # reconnecting is for a person
        assert "qbo connect" in failing.state.message
        assert fine.state.is_completed()
        (last,) = world.connector.store.runs.last(gone)
        assert last.status == "failed"  # on record for `qbo status`
    finally:
        world.connector.token_store.delete(gone)


def test_io_failures_are_retried_and_a_transform_failure_is_not(world: World, monkeypatch) -> None:
    sandbox_config = f"{world.server.base_url}/_sandbox/config"
    # QBO answers 503 to everything; the client gives up at once and Prefect retries without a pause
    quick = RetryPolicy(max_attempts=1)
    monkeypatch.setattr(sync_flows, "flow_connector", lambda: Connector(Settings.resolve(), retry=quick))
    monkeypatch.setattr(
        sync_flows, "sync_realm_task", sync_flows.sync_realm_task.with_options(retry_delay_seconds=0)
    )
    assert requests.post(sandbox_config, json={"faults": {"rate_503": 1.0}}, timeout=10).ok
    try:
        state = sync_flow(realms=[REALMS[0]], entities=ENTITIES, return_state=True)
    finally:
        assert requests.post(sandbox_config, json={"faults": {"rate_503": 0.0}}, timeout=10).ok
    assert state.is_failed()
    (attempts,) = task_runs(state.state_details.flow_run_id).values()
    assert attempts.run_count == 1 + IO_RETRIES
    failures = [run for run in world.connector.store.runs.last(REALMS[0], limit=10) if run.status == "failed"]
    assert len(failures) == 1 + IO_RETRIES  # each attempt is on record

    # a transform failure is not I/O: it fails once, saying why
    monkeypatch.setenv("TRANSFORM__MASTERING__OVERRIDES", '[{"tenant": "*", "entity": "Customer"}]')
    transformed = transform_flow(return_state=True)
    assert transformed.is_failed()
    assert "mastering" in transformed.message
    (transform_run,) = task_runs(transformed.state_details.flow_run_id).values()
    assert transform_run.run_count == 1
