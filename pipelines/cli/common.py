"""What every command group shares: the connector from the global options, errors, option parsing."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import NoReturn

import typer

from pipelines.runtime.connector import Connector
from sources.quickbooks.catalog import ENTITIES


def connector(ctx: typer.Context) -> Connector:
    return Connector(ctx.obj)


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def entity_names(values: list[str] | None, allowed: tuple[str, ...] | None = None) -> list[str] | None:
    """--entities, repeated or comma-separated, each a catalog entity (and one of `allowed`)."""
    if not values:
        return None
    names = [n.strip() for v in values for n in v.split(",") if n.strip()]
    unknown = [n for n in names if n not in ENTITIES]
    if unknown:
        raise typer.BadParameter(
            f"unknown entities {', '.join(unknown)}; choose from {', '.join(ENTITIES)}",
            param_hint="--entities",
        )
    wrong = [n for n in names if allowed is not None and n not in allowed]
    if wrong:
        raise typer.BadParameter(
            f"{', '.join(wrong)} cannot be pushed; choose from {', '.join(allowed or ())}",
            param_hint="--entities",
        )
    return names


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
    sub = typer.Typer(help=help_text, no_args_is_help=True)
    app.add_typer(sub, name=name)
    return sub
