"""The demo world: sandbox companies on loopback, and a connector connected to them through OAuth.

`qbo demo`, the benches and the end-to-end tests all stand in this one world, so that what the demo
shows is what the tests check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from cryptography.fernet import Fernet

from pipelines.connect import connect_interactively
from pipelines.runtime.connector import Connector
from pipelines.runtime.settings import Settings
from pipelines.runtime.warehouse import QBO_DATASET
from pipelines.runtime.warehouse_sql import open_warehouse
from sandbox.background import RunningSandbox, free_port, running
from sandbox.launch import FIRST_REALM, describe
from sandbox.oauth import ACCOUNTING_SCOPE
from sandbox.state import Sandbox
from sources.quickbooks import table_name

DEMO_TENANT = "demo-tenant"


def sandbox_settings(server: RunningSandbox, workdir: Path, warehouse_url: str | None = None) -> Settings:
    """Settings for the sandbox on loopback, with a fresh encryption key and every state file under
    `workdir` (tokens, budget, warehouse, dlt state); the warehouse is PostgreSQL with `warehouse_url`."""
    return Settings(
        client_id=server.client_id,
        client_secret=server.client_secret,
        redirect_uri=f"http://127.0.0.1:{free_port()}/callback",
        token_encryption_keys=(Fernet.generate_key().decode(),),
        store_url=f"sqlite:///{workdir / 'integration.sqlite'}",
        budget_url=f"sqlite:///{workdir / 'budget.sqlite'}",
        warehouse=workdir / "warehouse.duckdb",
        warehouse_url=warehouse_url,
        pipelines_dir=workdir / "pipelines",
    ).with_sandbox(server.base_url)


@dataclass
class World:
    """Sandbox companies on loopback and a connector to them; `realm_id` is the first company."""

    sandbox: Sandbox
    server: RunningSandbox
    connector: Connector
    realm_ids: list[str]
    tenant: str = DEMO_TENANT
    workdir: Path = field(default=Path("."))

    @property
    def settings(self) -> Settings:
        return self.connector.settings

    @property
    def realm_id(self) -> str:
        return self.realm_ids[0]

    def connect(self, realm_id: str, write: Callable[[str], None] | None = None) -> None:
        """Connect a company the way a user does: consent URL, redirect to loopback (the world plays the
        browser); with `write`, say what happened."""
        record = connect_interactively(
            self.connector,
            self.tenant,
            timeout=30,
            echo=write or (lambda _line: None),  # the instruction with its URL: the world is the browser
            browse=lambda url: requests.get(url, timeout=30).raise_for_status(),
        )
        if record.realm_id != realm_id:
            raise RuntimeError(f"consent granted realm {record.realm_id}, not {realm_id}")

    def connect_with_code(self, realm_id: str) -> None:
        """The authorization-code flow the way `qbo connect --code C --realm R` finishes it."""
        code = authorization_code(self.server, self.settings.redirect_uri, realm_id)
        self.connector.tokens.connect(self.tenant, code, realm_id)

    def mutate(self, realm_id: str, **body: Any) -> dict[str, Any]:
        """Edit a record as a person would in QBO (`POST /_sandbox/realms/{realm}/mutate`)."""
        answer = requests.post(
            f"{self.server.base_url}/_sandbox/realms/{realm_id}/mutate", json=body, timeout=30
        )
        if answer.status_code != 200:
            raise AssertionError(f"the sandbox refused {body}: {answer.text}")
        return answer.json()

    def truth(self, realm_id: str, entity: str) -> dict[str, tuple[str | None, bool]]:
        """Id -> (SyncToken, deleted) of what the sandbox holds."""
        return self.sandbox.store.versions(realm_id, entity)

    def warehouse_rows(self, realm_id: str, entity: str) -> dict[str, tuple[str | None, bool]]:
        """Id -> (SyncToken, deleted) of what the warehouse holds, comparable with `truth`."""
        with open_warehouse(self.settings.warehouse_target) as db:
            rows = db.all(
                f"SELECT id, sync_token, _deleted FROM {QBO_DATASET}.{table_name(entity)} WHERE realm_id = ?",
                [realm_id],
            )
        return {i: (None if deleted else token, bool(deleted)) for i, token, deleted in rows}


def authorization_code(server: RunningSandbox, redirect_uri: str | None, realm_id: str) -> str:
    """The code the sandbox's consent screen hands a browser for `realm_id` (consent given at once)."""
    redirect = requests.get(
        f"{server.base_url}/connect/oauth2",
        params={
            "client_id": server.client_id,
            "response_type": "code",
            "scope": ACCOUNTING_SCOPE,
            "redirect_uri": redirect_uri,
            "realmId": realm_id,
        },
        allow_redirects=False,
        timeout=10,
    )
    return parse_qs(urlsplit(redirect.headers["location"]).query)["code"][0]


@contextmanager
def world(
    workdir: Path,
    company: str = "demo",
    seed: int = 1,
    write: Callable[[str], None] = print,
    *,
    companies: Mapping[str, tuple[str, int]] | None = None,
    tenant: str = DEMO_TENANT,
    connect: bool = True,
    warehouse_url: str | None = None,
) -> Iterator[World]:
    """Serve generated companies (`companies`: realm id -> (profile, seed); by default one `company` at
    the sandbox's first realm) and, with `connect`, connect the first through OAuth the way a user does.
    Everything it keeps (tokens, budget, warehouse, dlt state) lives under `workdir`, but a PostgreSQL
    warehouse (`warehouse_url`)."""
    chosen = dict(companies or {str(FIRST_REALM): (company, seed)})
    sb = Sandbox()
    for realm_id, (profile, profile_seed) in chosen.items():
        write(f"generating the {profile} company (seed {profile_seed}) ...")
        sb.add_realm(realm_id, profile, profile_seed)
    with running(sb) as server:
        write(describe(sb, server.base_url).rstrip())
        settings = sandbox_settings(server, workdir, warehouse_url)
        the_world = World(sb, server, Connector(settings), list(chosen), tenant, workdir)
        if connect:
            the_world.connect(the_world.realm_id, write)
            where = settings.store_url
            write(f"connected realm {the_world.realm_id} through OAuth; tokens stored encrypted in {where}")
        yield the_world
