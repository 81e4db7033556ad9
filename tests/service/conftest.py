"""A gateway over a fresh integration store, with known API keys and verifier token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

from pipelines.runtime.connector import Connector
from pipelines.runtime.settings import Settings
from service.app import create_app

VERIFIER = "00faeec4-08d0-4996-bb37-698ae19f0149"  # the .NET SDK's test token: the vectors are signed with it
KEY_A = "key-for-tenant-a-0123456789"
KEY_ALL = "key-for-every-tenant-0123456789"


def gateway_settings(tmp_path: Path, verifier: str = VERIFIER) -> Settings:
    return Settings(
        store_url=f"sqlite:///{tmp_path / 'integration.sqlite'}",
        webhook_verifier_token=verifier,
        gateway_api_keys={KEY_A: frozenset({"tenant-a"}), KEY_ALL: frozenset({"*"})},
        warehouse=tmp_path / "warehouse.duckdb",
        token_encryption_keys=(Fernet.generate_key().decode(),),
    )


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Connector(gateway_settings(tmp_path)))) as client:
        yield client
