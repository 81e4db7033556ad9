"""`qbo sandbox`, `qbo demo` and `qbo platform generate`: the local QBO and the demo world.

Registered into `qbo` through the `qbo.commands` entry point (pyproject.toml): the product never
imports the sandbox, and the web stack and the generator load only for the commands that use them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from pipelines.cli.common import fail, group
from pipelines.cli.platform import HELP as PLATFORM_HELP
from pipelines.runtime.settings import ConfigError

COMPANIES = ("empty", "tiny", "demo", "medium", "large")


def _company(value: str) -> str:
    if value not in COMPANIES:
        raise typer.BadParameter(f"{value!r} is not a company profile; choose one of {', '.join(COMPANIES)}")
    return value


def sandbox(
    host: Annotated[
        str, typer.Option(help="interface to listen on (keep loopback unless you mean it)")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8765,
    company: Annotated[
        str, typer.Option(callback=_company, help="empty | tiny | demo | medium | large")
    ] = "demo",
    seed: Annotated[int, typer.Option(help="same seed, same company")] = 1,
    realms: Annotated[int, typer.Option(min=1, max=50, help="how many companies (realms) to serve")] = 1,
    db: Annotated[
        Path | None, typer.Option(help="SQLite file to keep the sandbox in (default: memory)")
    ] = None,
    webhook_url: Annotated[str | None, typer.Option(help="POST change notifications here")] = None,
    webhook_format: Annotated[str, typer.Option(help="cloudevents | legacy")] = "cloudevents",
) -> None:
    """Serve a local QuickBooks Online lookalike: API v3, OAuth 2.0, webhooks, limits and faults."""
    from sandbox.launch import serve_forever

    if webhook_format not in ("cloudevents", "legacy"):
        raise typer.BadParameter(
            "webhook format must be cloudevents or legacy", param_hint="--webhook-format"
        )
    serve_forever(
        host=host,
        port=port,
        company=company,
        seed=seed,
        realms=realms,
        db=db,
        webhook_url=webhook_url,
        webhook_format=webhook_format,
        out=sys.stdout,
    )


def demo(
    company: Annotated[
        str, typer.Option(callback=_company, help="company profile to demonstrate on")
    ] = "demo",
    seed: Annotated[int, typer.Option()] = 1,
) -> None:
    """Run the product end to end against an embedded sandbox, with no credentials; its warehouse and
    store become the project's defaults (var/defaults.toml), so the README's commands read them."""
    from sandbox.demo import tour

    tour.run(company=company, seed=seed, out=sys.stdout, record_as="qbo demo")


def platform_generate(
    out: Annotated[Path, typer.Option(help="folder for the JSONL files and planted.json")],
    company: Annotated[str, typer.Option(callback=_company, help="the sandbox company to overlap")] = "demo",
    seed: Annotated[int, typer.Option(help="the sandbox company's seed")] = 1,
    realm: Annotated[str | None, typer.Option(help="its realm id [default: the sandbox's first]")] = None,
    tenant: Annotated[str, typer.Option(help="the platform tenant the records belong to")] = "demo-tenant",
    sandbox_db: Annotated[
        Path | None, typer.Option(help="read the company from a `qbo sandbox --db` file instead of making it")
    ] = None,
) -> None:
    """Write platform records overlapping a sandbox company, and the record of what differs."""
    from pipelines.runtime.policy_config import mastering_policy
    from sandbox.clock import DEFAULT_TZ
    from sandbox.demo import platform_records
    from sandbox.launch import FIRST_REALM
    from sandbox.store import Store

    realm_id = realm or str(FIRST_REALM)
    try:
        policy = mastering_policy()
    except ConfigError as exc:
        fail(str(exc), 2)
    if sandbox_db is not None:
        if not sandbox_db.is_file():
            raise typer.BadParameter(
                f"{sandbox_db} is not a sandbox database file", param_hint="--sandbox-db"
            )
        store = Store(sandbox_db)
        if store.realm(realm_id) is None:
            fail(f"{sandbox_db} holds no realm {realm_id}; give --realm", 2)
    else:
        store = platform_records.qbo_company(company, seed, realm_id, DEFAULT_TZ)
    generated = platform_records.generate(store, realm_id, out, tenant_id=tenant, seed=seed, policy=policy)
    paths, planted = generated.paths, generated.planted
    typer.echo(f"wrote {sum(planted.counts.values()):,} platform records to {out}:")
    for entity, count in planted.counts.items():
        typer.echo(f"  {entity:<10}{count:>8,}  {paths[entity].name}")
    typer.echo(
        f"planted: {len(planted.links):,} linked, {len(planted.candidates)} to match, "
        f"{len(planted.platform_only)} platform-only, {len(planted.qbo_only)} QBO-only, "
        f"{len(planted.drift)} drifting fields, {len(planted.conflicts)} conflicts, "
        f"{len(planted.rejected)} invalid ({paths['planted'].name})"
    )


def register(app: typer.Typer) -> None:
    app.command()(sandbox)
    app.command()(demo)
    group(app, "platform", PLATFORM_HELP).command("generate")(platform_generate)
