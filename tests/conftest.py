"""Shared fixtures: telemetry off, a sandbox on loopback per test, the real QBO payloads."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
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

from sandbox.app import Sandbox
from sandbox.server import RunningSandbox, running
from sandbox.settings import SandboxConfig
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
