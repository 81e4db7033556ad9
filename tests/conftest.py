"""Shared fixtures: telemetry off, a sandbox on loopback per test, the real QBO payloads."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

for _var, _value in {
    "RUNTIME__DLTHUB_TELEMETRY": "false",
    "DO_NOT_TRACK": "1",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}.items():
    os.environ.setdefault(_var, _value)
# no recorded project defaults: `make demo` (run by a test, or earlier by a person) must not become the
# warehouse and store of every later test; tests of the recording point it at a folder of their own
os.environ["QBO_DEFAULTS_FILE"] = "none"
if os.environ.get("PYTEST_XDIST_WORKER"):  # `make test` runs two workers: each dbt writes its own target
    _worker = os.environ["PYTEST_XDIST_WORKER"]
    _dbt = Path(__file__).resolve().parents[1] / "dbt_project"
    os.environ.setdefault("DBT_TARGET_PATH", str(_dbt / "target" / _worker))
    os.environ.setdefault("DBT_LOG_PATH", str(_dbt / "logs" / _worker))

from sandbox.background import RunningSandbox, running
from sandbox.settings import SandboxConfig
from sandbox.state import Sandbox
from tests.demo_runs import any_demo_run, demo_run, pg_demo_run  # noqa: F401 - fixtures
from tests.qbo_http import QboHttp

SAMPLES = Path(__file__).parent / "fixtures" / "qbo"


def sample(name: str) -> Any:
    """A real QBO payload from tests/fixtures/qbo (copied from shared/samples/qbo, see SOURCES.md)."""
    return json.loads((SAMPLES / name).read_text(encoding="utf-8-sig"))


def sample_bytes(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


@pytest.fixture
def start_sandbox() -> Iterator[Callable[..., RunningSandbox]]:
    """Start sandboxes with a given config; each is stopped when the test ends."""
    stack: list[Any] = []

    def start(config: SandboxConfig | None = None) -> RunningSandbox:
        ctx = running(Sandbox(config))
        stack.append(ctx)
        return ctx.__enter__()

    yield start
    for ctx in reversed(stack):
        ctx.__exit__(None, None, None)


@pytest.fixture
def server(start_sandbox: Callable[..., RunningSandbox]) -> RunningSandbox:
    return start_sandbox()


@pytest.fixture
def tiny(server: RunningSandbox) -> QboHttp:
    """A connected client on a freshly generated tiny company."""
    return QboHttp.create(server, "tiny", realm_id="1001")


@pytest.fixture
def empty(server: RunningSandbox) -> QboHttp:
    return QboHttp.create(server, "empty", realm_id="2002")


@cache
def reachable_postgres() -> str | None:
    """A reachable PostgreSQL URL (env QBO_TEST_POSTGRES_URL, else trust auth as postgres or root)."""
    import psycopg

    candidates = [os.environ.get("QBO_TEST_POSTGRES_URL")] + [
        f"postgresql://{user}@127.0.0.1:5432/test" for user in ("postgres", "root")
    ]
    for url in filter(None, candidates):
        try:
            psycopg.connect(url, connect_timeout=3).close()
        except psycopg.Error:
            continue
        return url
    return None


@pytest.fixture(scope="session")
def postgres_base() -> str:
    url = reachable_postgres()
    if url is None:
        pytest.skip("no PostgreSQL at 127.0.0.1:5432 (set QBO_TEST_POSTGRES_URL)")
    return url


@pytest.fixture
def postgres_url(postgres_base: str) -> Iterator[str]:
    """A private schema per test (a SQLAlchemy URL), so concurrent runs on one database never meet."""
    import psycopg

    schema = f"qbo_test_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield f"{postgres_base.replace('postgresql://', 'postgresql+psycopg://')}?options=-csearch_path%3D{schema}"
    with psycopg.connect(postgres_base, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


# the longest files first: `--dist loadfile` hands out files in collection order, so a long end-to-end
# file collected last (tests/warehouse/ sorts last) would run alone at the end while the workers idle
LONG_FIRST = (
    "tests/warehouse/",
    "tests/test_newcomer.py",
    "tests/test_cli.py",
    "tests/flows/",
    "tests/push/",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    root = Path(__file__).resolve().parents[1]

    def rank(item: pytest.Item) -> int:
        where = Path(str(item.path)).resolve().relative_to(root).as_posix()
        return next((n for n, prefix in enumerate(LONG_FIRST) if where.startswith(prefix)), len(LONG_FIRST))

    items.sort(key=rank)  # stable: each file keeps its own order
