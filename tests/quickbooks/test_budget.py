"""The request budget: QBO's per-minute, batch and in-flight limits, shared across threads and processes.

Every behaviour runs on the three backends (SQLite file, Redis, PostgreSQL), each test in its own
namespace that is dropped afterwards. Assertions count acquisitions; durations appear only as the
timeouts that make a refused acquisition fail fast, and as the one wait a full window implies.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from psycopg import sql
from pyrate_limiter import Duration, Rate, RateItem

from sources.quickbooks.budget import BudgetBackend, BudgetTimeout, RequestBudget, open_backend
from tests.conftest import reachable_postgres

REFUSE = 0.2  # acquire_timeout where an acquisition is expected to be refused

# Child processes fork from one server that imported this module once (importing the package is slow).
if "forkserver" in multiprocessing.get_all_start_methods():
    MP = multiprocessing.get_context("forkserver")
    MP.set_forkserver_preload([__name__])
else:
    MP = multiprocessing.get_context("spawn")


@cache
def redis_url() -> str | None:
    url = os.environ.get("QBO_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError:
        return None
    return url


@dataclass(frozen=True)
class Target:
    """How to open one test's backend; picklable, so child processes open their own."""

    kind: str
    url: str | None
    sqlite_path: str
    namespace: str

    def open(self) -> BudgetBackend:
        return open_backend(self.url, sqlite_path=self.sqlite_path, namespace=self.namespace)

    def budget(self, backend: BudgetBackend, realm_id: str = "9130", **limits: Any) -> RequestBudget:
        return RequestBudget("app-client-id", realm_id, backend, **limits)


def drop_namespace(target: Target) -> None:
    if target.kind == "redis":
        client = redis.Redis.from_url(target.url or "")
        for key in client.scan_iter(f"{target.namespace}:*"):
            client.delete(key)
        client.close()
    elif target.kind == "postgres":
        with psycopg.connect(target.url or "", autocommit=True) as conn:
            tables = conn.execute(
                "SELECT tablename FROM pg_tables WHERE starts_with(tablename, %s) "
                "OR starts_with(tablename, %s)",
                (f"{target.namespace}_", f"ratelimit___{target.namespace}_"),
            ).fetchall()
            for (table,) in tables:
                conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(table)))


@pytest.fixture(params=["sqlite", "redis", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    kind = request.param
    url = {"sqlite": None, "redis": redis_url(), "postgres": reachable_postgres()}[kind]
    if kind != "sqlite" and url is None:
        pytest.skip(f"{kind} is not reachable on 127.0.0.1 (set QBO_TEST_{kind.upper()}_URL)")
    target = Target(kind, url, str(tmp_path / "budget.sqlite"), f"t{uuid.uuid4().hex[:12]}")
    yield target
    drop_namespace(target)


@pytest.fixture
def backend(target: Target) -> Iterator[BudgetBackend]:
    backend = target.open()
    yield backend
    backend.close()


@pytest.fixture(scope="module", autouse=True)
def process_server() -> None:
    """Start the forkserver now: its one slow import overlaps the in-process tests, which come first."""
    if MP.get_start_method() == "forkserver":
        multiprocessing.forkserver.ensure_running()


# --- in one process ---


def test_per_minute_limit_is_enforced(target: Target, backend: BudgetBackend) -> None:
    budget = target.budget(backend, per_minute=5, acquire_timeout=REFUSE)
    for _ in range(5):
        with budget.slot():
            pass
    with (
        pytest.raises(BudgetTimeout, match=r"realm 9130: no room in the request budget \(5/min\)"),
        budget.slot(),
    ):
        pass
    assert budget.stats()["acquired"] == 5
    assert budget.stats()["timeouts"] == 1


def test_a_full_window_is_waited_out_not_refused(target: Target, backend: BudgetBackend) -> None:
    budget = target.budget(backend, per_second=2, per_minute=100, acquire_timeout=10)
    for _ in range(3):
        with budget.slot():
            pass
    stats = budget.stats()
    assert (stats["acquired"], stats["timeouts"]) == (3, 0)
    assert stats["waited_seconds"] > 0.5  # the 3rd waited for the 1st to leave its one-second window


def test_concurrency_limit_across_threads(target: Target, backend: BudgetBackend) -> None:
    budget = target.budget(backend, concurrent=3, acquire_timeout=30)
    lock, full = threading.Lock(), threading.Event()
    current = peak = 0

    def call() -> None:
        nonlocal current, peak
        with budget.slot():
            with lock:
                current += 1
                peak = max(peak, current)
                if current == 3:
                    full.set()
            full.wait(10)
            time.sleep(0.02)
            with lock:
                current -= 1

    threads = [threading.Thread(target=call) for _ in range(9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert peak == 3
    assert budget.stats()["acquired"] == 9


def test_realms_and_apps_do_not_share_a_budget(target: Target, backend: BudgetBackend) -> None:
    limits = {"per_minute": 2, "concurrent": 1, "acquire_timeout": REFUSE}
    realm_a = target.budget(backend, "1001", **limits)
    realm_b = target.budget(backend, "1002", **limits)
    with realm_a.slot():
        with realm_b.slot():  # A holding its only slot leaves B's free
            pass
        with (
            pytest.raises(BudgetTimeout, match="realm 1001"),
            target.budget(backend, "1001", **limits).slot(),
        ):
            pass
    with realm_a.slot():
        pass
    with pytest.raises(BudgetTimeout, match="realm 1001"), realm_a.slot():  # A has spent its 2 per minute
        pass
    with realm_b.slot():  # B spent 1 of its own 2
        pass
    for app, realm in (("other-app", "1001"), ("x:1", "2"), ("x", "1:2")):  # ids are quoted into keys
        budget = RequestBudget(app, realm, backend, **limits)
        for _ in range(2):
            with budget.slot():
                pass


def test_batch_calls_have_their_own_limit_and_count_in_the_main_one(
    target: Target, backend: BudgetBackend
) -> None:
    budget = target.budget(backend, per_minute=6, batch_per_minute=2, acquire_timeout=REFUSE)
    for _ in range(3):
        with budget.slot():  # single calls leave the batch budget alone
            pass
    for _ in range(2):
        with budget.slot(batch=True):
            pass
    with pytest.raises(BudgetTimeout, match=r"no room for a batch call \(2/min\)"), budget.slot(batch=True):
        pass
    with budget.slot():  # the refused batch call spent nothing: the 6th request fits
        pass
    with pytest.raises(BudgetTimeout, match=r"request budget \(6/min\)"), budget.slot():
        pass
    stats = budget.stats()
    assert (stats["acquired"], stats["batch_acquired"], stats["timeouts"]) == (6, 2, 2)


def test_a_slot_is_released_on_errors_and_refusals(target: Target, backend: BudgetBackend) -> None:
    budget = target.budget(backend, concurrent=1, batch_per_minute=1, acquire_timeout=REFUSE)
    with pytest.raises(RuntimeError), budget.slot():
        raise RuntimeError("the request failed")
    with budget.slot(batch=True):
        pass
    with pytest.raises(BudgetTimeout, match="batch"), budget.slot(batch=True):
        pass
    with budget.slot():  # neither the error nor the refused batch call kept the only slot
        pass


def test_open_backend_reads_the_url(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"sqlite:///path, redis://.*postgresql://"):
        open_backend("mysql://db/budget")
    with pytest.raises(ValueError, match="sqlite:///path"):
        open_backend("sqlite://relative.sqlite")
    with pytest.raises(ValueError, match="namespace"):
        open_backend(None, sqlite_path=tmp_path / "a.sqlite", namespace="Robert'); DROP TABLE")

    default = open_backend(None, sqlite_path=tmp_path / "var" / "budget.sqlite")
    by_url = open_backend(f"sqlite:///{tmp_path}/other.sqlite")
    assert (tmp_path / "var" / "budget.sqlite").exists()
    assert (tmp_path / "other.sqlite").exists()
    default.close()
    by_url.close()


# --- across processes: what the children run is module level, so the forkserver can find it ---


def run_processes(function: Callable[..., None], count: int, *args: Any) -> list[Any]:
    """Run `function(*args, results)` in `count` processes; what each put on `results`."""
    results = MP.Queue()
    processes = [MP.Process(target=function, args=(*args, results)) for _ in range(count)]
    for process in processes:
        process.start()
    collected = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    return collected


def take_until_refused(target: Target, per_minute: int, results: Any) -> None:
    backend = target.open()
    budget = target.budget(backend, per_minute=per_minute, acquire_timeout=REFUSE)
    taken = 0
    try:
        while taken <= per_minute:
            with budget.slot():
                taken += 1
    except BudgetTimeout:
        pass
    backend.close()
    results.put(taken)


def test_per_minute_limit_is_shared_by_processes(target: Target) -> None:
    taken = run_processes(take_until_refused, 3, target, 5)
    assert sum(taken) == 5, taken


def hold_slots(
    target: Target, slots: int, concurrent: int, current: Any, peak: Any, full: Any, results: Any
) -> None:
    backend = target.open()
    budget = target.budget(backend, concurrent=concurrent, acquire_timeout=30)
    for _ in range(slots):
        with budget.slot():
            with current.get_lock():
                current.value += 1
                peak.value = max(peak.value, current.value)
                if current.value == concurrent:
                    full.set()
            full.wait(10)  # hold until the cap is reached, so reaching it is observed
            time.sleep(0.02)
            with current.get_lock():
                current.value -= 1
    backend.close()
    results.put(budget.stats()["acquired"])


def test_concurrency_limit_across_processes(target: Target) -> None:
    current, peak, full = MP.Value("i", 0), MP.Value("i", 0), MP.Event()
    acquired = run_processes(hold_slots, 4, target, 3, 2, current, peak, full)
    assert acquired == [3, 3, 3, 3]
    assert peak.value == 2


def die_holding_a_slot(target: Target, lease_ttl: float, holding: Any, die: Any) -> None:
    budget = target.budget(target.open(), concurrent=1, lease_ttl=lease_ttl, acquire_timeout=REFUSE)
    with budget.slot():
        holding.set()
        die.wait(30)
        os.kill(os.getpid(), signal.SIGKILL)  # no finally, no release: as if the machine lost power


def test_lease_of_a_crashed_holder_expires(target: Target, backend: BudgetBackend) -> None:
    holding, die = MP.Event(), MP.Event()
    process = MP.Process(target=die_holding_a_slot, args=(target, 1.0, holding, die))
    process.start()
    assert holding.wait(30)
    with (
        pytest.raises(BudgetTimeout, match=r"realm 9130: no free in-flight slot \(1\)"),
        target.budget(backend, concurrent=1, acquire_timeout=REFUSE).slot(),
    ):
        pass
    die.set()
    process.join(timeout=30)
    assert process.exitcode == -signal.SIGKILL

    patient = target.budget(backend, concurrent=1, acquire_timeout=30)
    with patient.slot():  # the dead holder's lease ran out (lease_ttl plus its acquire_timeout)
        pass
    assert patient.stats()["acquired"] == 1


def test_an_entry_stamped_later_but_stored_first_still_counts(backend: BudgetBackend) -> None:
    """Processes stamp requests with their own clock reading: one that read the clock a moment later can
    store its request first. That request is inside the window too, and takes the last slot."""
    bucket = backend.bucket("9130:race", [Rate(1, Duration.MINUTE)])
    now = bucket.now()
    assert bucket.put(RateItem("request", now + 5))  # the later stamp, stored first
    assert not bucket.put(RateItem("request", now))  # the earlier stamp finds the minute's one slot taken
