"""`qbo sandbox`: build the companies, say how to reach them, serve until interrupted."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

import uvicorn

from sandbox.background import uvicorn_config
from sandbox.http_app import create_app
from sandbox.settings import SandboxConfig, WebhookSettings
from sandbox.state import Sandbox
from sandbox.store import Store

FIRST_REALM = 9341450000000001  # Intuit-like company ids, stable across runs


def build(
    company: str,
    seed: int,
    realms: int,
    db: Path | None,
    webhook_url: str | None,
    webhook_format: str,
    out: TextIO,
) -> Sandbox:
    config = SandboxConfig(webhooks=WebhookSettings(url=webhook_url, format=webhook_format))  # type: ignore[arg-type]
    sb = Sandbox(config, Store(db) if db else Store())
    existing = set(sb.realm_ids())
    for n in range(realms):
        realm_id = str(FIRST_REALM + n)
        if realm_id in existing:
            continue
        out.write(f"generating company {realm_id} ({company}, seed {seed + n}) ...\n")
        out.flush()
        sb.add_realm(realm_id, company, seed + n)
    return sb


def describe(sb: Sandbox, base_url: str) -> str:
    cfg = sb.config
    lines = [
        f"QBO sandbox at {base_url}",
        f"  API base URL      {base_url}/v3/company/<realmId>/",
        f"  OAuth discovery   {base_url}/.well-known/openid_configuration",
        f"  client id         {cfg.oauth.client_id}",
        f"  client secret     {cfg.oauth.client_secret}",
        f"  webhook verifier  {cfg.webhooks.verifier_token}",
        f"  webhooks          {cfg.webhooks.url or 'off'} ({cfg.webhooks.format})",
        f"  admin API         {base_url}/_sandbox/ (docs at {base_url}/_sandbox/docs)",
        "  realms:",
    ]
    for realm in sb.store.realms():
        counts = sb.store.entity_counts(realm.realm_id)
        total = sum(c["active"] + c["inactive"] for c in counts.values())
        lines.append(f"    {realm.realm_id}  {realm.company:<6} seed {realm.seed:<4} {total:>9,} records")
    return "\n".join(lines) + "\n"


def serve_forever(
    host: str,
    port: int,
    company: str,
    seed: int,
    realms: int,
    db: Path | None,
    webhook_url: str | None,
    webhook_format: str,
    out: TextIO,
) -> None:
    sb = build(company, seed, realms, db, webhook_url, webhook_format, out)
    out.write(describe(sb, f"http://{host}:{port}"))
    out.write("Ctrl+C stops it.\n")
    out.flush()
    uvicorn.Server(uvicorn_config(create_app(sb), host, port, log_level="info")).run()
