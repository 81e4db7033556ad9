"""Issue 18 items 5 and 7: one spelling of each flag, names as people type them, `--realm` only when it
is needed, a typo'd warehouse refused before it is created, exit 2 for what to change, 1 for failures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from cryptography.fernet import Fernet
from typer.testing import CliRunner

from pipelines.cli.app import app
from pipelines.cli.common import entity_names, resolve_realm
from pipelines.runtime.settings import Settings
from sources.quickbooks.oauth import TokenSet
from sources.quickbooks.token_store import TokenStore
from tests.demo_runs import pg_database

runner = CliRunner()


def test_entity_names_take_any_case_singular_or_plural_and_suggest_on_typos() -> None:
    assert entity_names(["invoice", "Invoice,invoices", "CUSTOMERS", "classes"]) == [
        "Invoice",
        "Customer",
        "Class",
    ]
    with pytest.raises(typer.BadParameter, match="unknown entity 'Invioce': did you mean Invoice\\?"):
        entity_names(["Invioce"])
    with pytest.raises(typer.BadParameter, match="cannot be pushed"):
        entity_names(["accounts"], allowed=("Customer", "Invoice"))


def _store_with(tmp_path: Path, realms: list[str]) -> Settings:
    settings = Settings(
        store_url=f"sqlite:///{tmp_path / 'store.sqlite'}",
        token_encryption_keys=(Fernet.generate_key().decode(),),
    )
    store = TokenStore(settings.store_url, keys=list(settings.token_encryption_keys))
    now = datetime.now(UTC)
    for realm in realms:
        tokens = TokenSet("access", "refresh", now + timedelta(hours=1), now + timedelta(days=100))
        store.save("default", realm, tokens)
    return settings


@pytest.mark.parametrize(
    ("realms", "given", "expected"),
    [
        (["4101"], None, "4101"),
        (["4101", "4102"], "4102", "4102"),
        (["4101", "4102"], None, "exit 2: connected to realms 4101, 4102: say which with --realm"),
        ([], None, "exit 2: no QuickBooks company is connected: connect one with `qbo connect`"),
    ],
)
def test_realm_is_needed_only_when_several_are_connected(
    tmp_path: Path, realms: list[str], given: str | None, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ctx = typer.Context(typer.main.get_command(app), obj=_store_with(tmp_path, realms))
    try:
        chosen = resolve_realm(ctx, given)
    except typer.Exit as exit_:
        chosen = f"exit {exit_.exit_code}: {capsys.readouterr().err.removeprefix('error: ').strip()}"
    assert chosen == expected


def test_a_typod_warehouse_is_refused_and_not_created(tmp_path: Path) -> None:
    typo = tmp_path / "typo.duckdb"
    store = f"sqlite:///{tmp_path / 'store.sqlite'}"
    for command in (["ask", "list customers"], ["platform", "deliver"], ["mcp"]):
        result = runner.invoke(app, ["--warehouse", str(typo), "--store", store, *command])
        assert result.exit_code == 2, result.output
        assert result.stderr.strip().splitlines() == [
            f"error: no warehouse file at {typo}: check --warehouse (or [warehouse] url, "
            "[sources.quickbooks] warehouse), or run `qbo sync` first"
        ]
        assert not typo.exists()
    assert runner.invoke(app, ["sync", "--help"]).exit_code == 0  # the command the message names runs


def test_a_postgresql_database_never_synced_is_refused(postgres_base: str, tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'store.sqlite'}"
    with pg_database(postgres_base) as empty:
        result = runner.invoke(app, ["--warehouse", empty, "--store", store, "platform", "deliver"])
    assert result.exit_code == 2, result.output
    assert "no QBO data (never synced) at postgresql://" in result.stderr and "`qbo sync`" in result.stderr


def _words(output: str) -> str:
    """The error box's text as one line (the terminal box wraps it)."""
    return " ".join(output.replace("│", " ").split())


def test_usage_errors_exit_2_with_a_suggestion() -> None:
    mistyped = runner.invoke(app, ["snyc"])
    assert mistyped.exit_code == 2 and "Did you mean 'sync'?" in _words(mistyped.output)
    bad_entity = runner.invoke(app, ["sync", "--entities", "Invioce"])
    assert bad_entity.exit_code == 2 and "did you mean Invoice?" in _words(bad_entity.output)
    old_flag = runner.invoke(app, ["review", "list", "--entity", "Invoice"])
    assert old_flag.exit_code == 2 and "--entities" in _words(old_flag.output)
