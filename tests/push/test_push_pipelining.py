"""What a long push overlaps: the order of its runs (no record before one it names) and the landing
behind requests that wait for the budget (one at a time, none after close, a failure left to the
final landing)."""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from pipelines.mapping.order import ORDER
from pipelines.push import behind as behind_module
from pipelines.push.batch import runs
from pipelines.push.behind import LandBehind
from pipelines.push.operation import Operation

TENANT = "t1"


def op(entity: str, platform_id: str, needs: list[tuple[str, str]] | None = None) -> Operation:
    row = {"tenant_id": TENANT, "platform_id": platform_id, "realm_id": "r1", "operation": "create"}
    return Operation(entity, row, [], needs=[(e, p, "col", "pcol") for e, p in needs or []])


def sent_order(groups: list[tuple[str, list[Operation]]]) -> list[tuple[str, str, str]]:
    return [o.key for _, group in groups for o in group]


def test_the_biggest_groups_unnamed_records_go_last_and_nothing_before_what_it_names() -> None:
    customers = [op("Customer", f"c{n}") for n in range(100)]
    invoices = [op("Invoice", "i1", needs=[("Customer", "c7")]), op("Invoice", "i2", needs=[("Item", "x1")])]
    items = [op("Item", "x1")]
    ops = customers + items + invoices
    groups = runs(ops)
    assert sorted(sent_order(groups)) == sorted(o.key for o in ops)  # each once
    assert groups[-1][0] == "Customer" and len(groups[-1][1]) == 99  # all but the named c7
    position = {key: n for n, key in enumerate(sent_order(groups))}
    for o in ops:
        for entity, platform_id, *_ in o.needs:
            assert position[(entity, TENANT, platform_id)] < position[o.key]
    firsts = [entity for entity, _ in groups[:-1]]
    assert firsts == [e for e in ORDER if e in firsts]  # the rest in reference order


def test_runs_keep_the_reference_order_when_the_biggest_group_ends_it_already() -> None:
    ops = [op("Customer", "c1"), op("Invoice", "i1"), op("Invoice", "i2")]
    assert [(e, [o.key[2] for o in g]) for e, g in runs(ops)] == [
        ("Customer", ["c1"]),
        ("Invoice", ["i1", "i2"]),
    ]
    assert runs([]) == []


def test_a_group_whose_records_are_all_named_stays_where_it_was() -> None:
    ops = [op("Customer", "c1"), op("Invoice", "i1", needs=[("Customer", "c1")])]
    assert [e for e, _ in runs(ops)] == ["Customer", "Invoice"]


class FakeLog:
    def results(self, *, landed: bool | None = None) -> list[dict[str, Any]]:
        row = {"entity": "Customer", "tenant_id": TENANT, "platform_id": "c1", "outcome": "ok"}
        return [row, {**row, "platform_id": "c2", "outcome": "invalid"}]


class FakeReview:
    def __init__(self) -> None:
        self.marked: list[set[tuple[str, str, str]]] = []

    def mark_pushed(self, keys: set[tuple[str, str, str]]) -> int:
        self.marked.append(set(keys))
        return len(keys)


class FakeConnector:
    def __init__(self) -> None:
        self.store = type("Store", (), {"push_log": FakeLog(), "review": FakeReview()})()


class FakeBudget:
    """Room after `wait` seconds."""

    def __init__(self) -> None:
        self.wait = 0.0

    @contextmanager
    def slot(self, *, batch: bool = False) -> Iterator[None]:
        time.sleep(self.wait)
        yield


def test_landing_starts_behind_a_wait_for_the_budget_and_only_then(monkeypatch: pytest.MonkeyPatch) -> None:
    landed: list[str] = []
    release = threading.Event()

    def land(connector: Any, load_lock: Any = None) -> int:
        landed.append(threading.current_thread().name)
        release.wait(5)
        return 1

    monkeypatch.setattr(behind_module, "land_push_results", land)
    connector = FakeConnector()
    behind = LandBehind(connector, after=0.05)  # type: ignore[arg-type]
    budget = FakeBudget()
    watched = behind.watch(budget)
    with watched.slot(batch=True):
        time.sleep(0.2)  # room at once, a slow answer: nothing starts
    assert landed == []
    budget.wait = 0.2
    with watched.slot(batch=True):
        pass  # a wait for room: one landing starts behind it
    with watched.slot(batch=True):
        pass  # the landing is still under way: no second one
    assert len(landed) == 1 and landed[0] != threading.current_thread().name
    release.set()
    behind.close()  # waits for the landing under way
    assert behind.landings == 1
    assert connector.store.review.marked == [{("Customer", TENANT, "c1")}] and behind.marked == {
        ("Customer", TENANT, "c1")
    }
    with watched.slot(batch=True):
        pass  # closed: nothing more lands
    assert behind.landings == 1


CALLER: contextvars.ContextVar[str] = contextvars.ContextVar("caller", default="none")


def test_the_landing_behind_runs_in_the_callers_context(monkeypatch: pytest.MonkeyPatch) -> None:
    """A flow's writer slot is taken only inside its Prefect run, which lives in context variables."""
    seen: list[str] = []
    monkeypatch.setattr(behind_module, "land_push_results", lambda *_a, **_k: seen.append(CALLER.get()))
    token = CALLER.set("flow run")
    try:
        behind = LandBehind(FakeConnector(), after=0.01)  # type: ignore[arg-type]
    finally:
        CALLER.reset(token)
    budget = FakeBudget()
    budget.wait = 0.1
    with behind.watch(budget).slot():
        pass
    behind.close()
    assert seen == ["flow run"]


def test_a_failed_landing_behind_leaves_the_rows_to_the_final_one(monkeypatch: pytest.MonkeyPatch) -> None:
    def land(connector: Any, load_lock: Any = None) -> int:
        raise RuntimeError("warehouse busy")

    monkeypatch.setattr(behind_module, "land_push_results", land)
    behind = LandBehind(FakeConnector(), after=0.01)  # type: ignore[arg-type]
    budget = FakeBudget()
    budget.wait = 0.1
    with behind.watch(budget).slot():
        pass
    behind.close()
    assert behind.landings == 0  # nothing counted; the push goes on and lands at the end
