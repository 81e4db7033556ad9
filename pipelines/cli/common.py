"""What every command group shares: the connector from the global options, errors, option parsing."""

from __future__ import annotations

import difflib
from datetime import UTC, date, datetime, time
from typing import NoReturn

import typer

from pipelines.runtime.connector import Connector
from pipelines.runtime.settings import ConfigError, Settings
from sources.quickbooks.catalog import ENTITIES


def connector(ctx: typer.Context) -> Connector:
    return Connector(ctx.obj)


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def resolve_realm(ctx: typer.Context, realm: str | None) -> str:
    """--realm, optional wherever exactly one realm is connected: the realm given, else the only
    connected one; none or several connected is a usage error (exit 2) that lists them."""
    if realm:
        return realm
    from sources.quickbooks.token_store import TokenStoreError

    try:
        realms = sorted({record.realm_id for record in connector(ctx).connections()})
    except (ConfigError, TokenStoreError) as exc:
        fail(f"{' '.join(str(exc).split())}; or name the realm with --realm", 2)
    if len(realms) == 1:
        return realms[0]
    if not realms:
        fail("no QuickBooks company is connected: connect one with `qbo connect`", 2)
    fail(f"connected to realms {', '.join(realms)}: say which with --realm", 2)


def reading_warehouse(ctx: typer.Context) -> Settings:
    """The settings of a command that reads the warehouse. One never synced (a typo'd path, a database
    without QBO data) is refused with exit 2 and never created; otherwise one line on stderr names the
    warehouse and where the setting came from, so the numbers shown have a known source."""
    from pipelines.runtime.warehouse_target import WarehouseNotSynced, require_synced

    settings: Settings = ctx.obj
    try:
        require_synced(settings.warehouse_target)
    except WarehouseNotSynced as exc:
        fail(str(exc), 2)
    return say_warehouse(ctx)


def say_warehouse(ctx: typer.Context) -> Settings:
    """One line on stderr: the warehouse a command reads or writes, and where that setting came from
    (the environment, .dlt/, var/defaults.toml, the default); not when `--warehouse` just named it."""
    settings: Settings = ctx.obj
    if settings.warehouse_source != "--warehouse":
        typer.echo(f"warehouse: {settings.warehouse_label} ({settings.warehouse_source})", err=True)
    return settings


def _entity(name: str, allowed: tuple[str, ...]) -> str | None:
    """`invoice`, `Invoice`, `INVOICES` -> Invoice; None for a name that is none of `allowed`."""
    folded = {e.lower(): e for e in allowed}
    key = name.strip().lower()
    for candidate in (key, key.removesuffix("s"), key.removesuffix("es")):
        if candidate in folded:
            return folded[candidate]
    return None


def entity_names(values: list[str] | None, allowed: tuple[str, ...] | None = None) -> list[str] | None:
    """--entities, repeated or comma-separated, each a catalog entity (and one of `allowed`), in any
    case, singular or plural; a typo gets the closest names."""
    if not values:
        return None
    names = [n.strip() for v in values for n in v.split(",") if n.strip()]
    found = {n: _entity(n, tuple(ENTITIES)) for n in names}
    unknown = [n for n, e in found.items() if e is None]
    if unknown:
        raise typer.BadParameter(
            "; ".join(f"unknown entity {n!r}{_did_you_mean(n, tuple(ENTITIES))}" for n in unknown)
            + f" (choose from {', '.join(ENTITIES)})",
            param_hint="--entities",
        )
    chosen = list(dict.fromkeys(e for e in found.values() if e is not None))
    wrong = [n for n in chosen if allowed is not None and n not in allowed]
    if wrong:
        raise typer.BadParameter(
            f"{', '.join(wrong)} cannot be pushed; choose from {', '.join(allowed or ())}",
            param_hint="--entities",
        )
    return chosen


def _did_you_mean(name: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name.lower(), [c.lower() for c in choices], n=3, cutoff=0.6)
    by_lower = {c.lower(): c for c in choices}
    return f": did you mean {' or '.join(by_lower[c] for c in close)}?" if close else ""


def day(value: str, option: str) -> datetime:
    try:
        return datetime.combine(date.fromisoformat(value), time(), UTC)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=option) from None


def moment(value: str, option: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date or an ISO 8601 time", param_hint=option) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def group(app: typer.Typer, name: str, help_text: str) -> typer.Typer:
    """The sub-command group `name`, made on first use: groups are shared with the registered plugins."""
    for info in app.registered_groups:
        if info.name == name and info.typer_instance is not None:
            return info.typer_instance
    sub = typer.Typer(help=help_text, no_args_is_help=True, rich_markup_mode=None)  # as the app's
    app.add_typer(sub, name=name)
    return sub
