"""Issue 18 item 3: after `qbo demo` the README's commands read the demo's warehouse and store without
flags, say which warehouse they read, and anything the user configured still comes first."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli.app import app
from pipelines.runtime.settings import DEFAULTS_FILE, ConfigError, Settings, record_defaults
from tests.demo_runs import DemoRun

SETTING_ENV = (
    "SOURCES__QUICKBOOKS__WAREHOUSE",
    "SOURCES__QUICKBOOKS__STORE_URL",
    "SOURCES__QUICKBOOKS__PIPELINES_DIR",
    "SOURCES__QUICKBOOKS__TOKEN_ENCRYPTION_KEYS",
    "WAREHOUSE__URL",
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh project directory as the working directory, with no settings in the environment."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DLT_PROJECT_DIR", raising=False)
    monkeypatch.delenv("QBO_DEFAULTS_FILE", raising=False)  # var/defaults.toml of this folder
    for name in (
        *SETTING_ENV,
        "SOURCES__QUICKBOOKS__PIPELINES_DIR",
        "SOURCES__QUICKBOOKS__TOKEN_ENCRYPTION_KEYS",
    ):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_recorded_defaults_come_below_flags_environment_and_dlt_config(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert Settings.resolve().warehouse == Path("var/warehouse.duckdb")
    assert Settings.resolve().warehouse_source == "the default"
    record_defaults(
        "qbo demo",
        warehouse="var/demo/warehouse.duckdb",
        store_url="sqlite:///var/demo/integration.sqlite",
        pipelines_dir="var/demo/pipelines",
    )
    assert not list((project / "var").glob(".*.tmp"))  # written whole, then renamed
    recorded = Settings.resolve()
    assert (recorded.warehouse, recorded.store_url) == (
        Path("var/demo/warehouse.duckdb"),
        "sqlite:///var/demo/integration.sqlite",
    )
    assert recorded.pipelines_path == Path("var/demo/pipelines")
    assert recorded.warehouse_source == "recorded by qbo demo"

    (project / ".dlt").mkdir()
    (project / ".dlt" / "config.toml").write_text(
        '[sources.quickbooks]\nwarehouse = "var/mine.duckdb"\n', encoding="utf-8"
    )
    configured = Settings.resolve()
    assert configured.warehouse == Path("var/mine.duckdb")
    assert configured.warehouse_source == ".dlt/ settings"
    assert configured.pipelines_path == Path("var/mine.pipelines")  # not the demo's dlt state
    assert configured.store_url == "sqlite:///var/demo/integration.sqlite"  # not configured: recorded

    monkeypatch.setenv("SOURCES__QUICKBOOKS__WAREHOUSE", "var/env.duckdb")
    assert Settings.resolve().warehouse_source == "env SOURCES__QUICKBOOKS__WAREHOUSE"
    flagged = Settings.resolve(warehouse="var/flag.duckdb", store_url="sqlite:///var/flag.sqlite")
    assert (flagged.warehouse, flagged.store_url) == (Path("var/flag.duckdb"), "sqlite:///var/flag.sqlite")
    assert flagged.warehouse_source == "--warehouse"


def test_a_damaged_defaults_file_is_named(project: Path) -> None:
    (project / "var").mkdir()
    DEFAULTS_FILE.write_text("[defaults\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"var/defaults\.toml is not valid TOML"):
        Settings.resolve()
    result = CliRunner().invoke(app, ["ask", "list customers"])
    assert result.exit_code == 2 and "defaults.toml" in result.output


def test_ask_after_the_demo_needs_no_flags_and_names_its_warehouse(project: Path, demo_run: DemoRun) -> None:
    """What `qbo demo` leaves behind (its folder and var/defaults.toml) is all `qbo ask` needs."""
    demo = project / "var" / "demo"
    shutil.copytree(demo_run.workdir, demo)
    record_defaults(
        "qbo demo",
        warehouse="var/demo/warehouse.duckdb",
        store_url="sqlite:///var/demo/integration.sqlite",
        pipelines_dir="var/demo/pipelines",
    )
    result = CliRunner().invoke(app, ["ask", "top 5 customers by open balance"])
    assert result.exit_code == 0, result.output
    assert "warehouse: var/demo/warehouse.duckdb (recorded by qbo demo)" in result.stderr
    assert "ran on:   warehouse" in result.stdout and "(5 rows)" in result.stdout
    assert not (project / "var" / "warehouse.duckdb").exists()
