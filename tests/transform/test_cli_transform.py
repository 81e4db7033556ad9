"""`qbo platform generate|load`, `qbo transform`, `qbo report drift`: the commands over a warehouse."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from pipelines.cli.app import app
from pipelines.platform_load import load_platform
from pipelines.transform.dbt_build import run_dbt
from sandbox.demo.tour import DEMO_POLICY
from sandbox.launch import FIRST_REALM
from tests.demo_runs import DemoRun

runner = CliRunner()


def qbo(warehouse: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    store = f"sqlite:///{warehouse.parent / 'integration.sqlite'}"  # not the checkout's var/: the user's
    result = runner.invoke(app, ["--warehouse", str(warehouse), "--store", store, *args], env=env)
    return result.exit_code, result.output


@pytest.fixture
def warehouse(demo_run: DemoRun, tmp_path: Path) -> Path:
    """A copy of the demo's warehouse (QBO synced), for commands that write to it."""
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_run.warehouse, copy)
    return copy


def test_generate_load_transform_report(warehouse: Path, demo_run: DemoRun, tmp_path: Path) -> None:
    code, out = qbo(warehouse, "platform", "generate", "--out", str(tmp_path / "platform"))
    assert code == 0, out
    assert "planted:" in out and "customers.jsonl" in out
    code, out = qbo(warehouse, "platform", "load", "--source", str(tmp_path / "platform"))
    assert code == 0, out
    assert "Customer          65 loaded, 1 refused" in out
    assert "refused Invoice at invoices.jsonl" in out and "totalAmount" in out
    code, out = qbo(warehouse, "platform", "load", "--source", str(tmp_path / "platform"), "--strict")
    assert code == 1
    as_of = demo_run.planted["as_of"]
    code, out = qbo(warehouse, "transform", "--as-of", as_of)  # no overrides configured: the spec's masters
    assert code == 0, out
    # progress (on stderr) left out
    summary = [line for line in out.splitlines() if not line.startswith("dbt build: [")]
    assert summary[0].startswith("dbt build passed"), out
    with duckdb.connect(str(warehouse), read_only=True) as db:
        masters = dict(
            db.execute(
                "SELECT entity, master FROM sync.sync_mastering_policy "
                "WHERE field = '*' AND tenant_id = 'demo-tenant'"
            ).fetchall()
        )
    assert masters == {
        "Customer": "platform",
        "Item": "platform",
        "Invoice": "platform",
        "Vendor": "qbo",
        "Bill": "qbo",
        "Payment": "qbo",
    }
    code, out = qbo(warehouse, "report", "drift", "--out", str(tmp_path / "report"))
    assert code == 0, out
    assert "fields drifting" in out and (tmp_path / "report" / "drift_report.html").is_file()
    assert str(FIRST_REALM) in (tmp_path / "report" / "breakdown.csv").read_text(encoding="utf-8")


def test_mistakes_are_named_with_what_to_do(warehouse: Path, tmp_path: Path) -> None:
    code, out = qbo(warehouse, "platform", "load", "--source", str(tmp_path / "nowhere"))
    assert code == 2 and "is not a folder" in out
    code, out = qbo(tmp_path / "empty.duckdb", "report", "drift", "--out", str(tmp_path / "r"))
    assert code == 2 and "qbo sync" in out
    bad = '[{"entity": "Estimate", "master": "platform"}]'
    code, out = qbo(warehouse, "transform", env={"TRANSFORM__MASTERING__OVERRIDES": bad})
    assert code == 2 and "Estimate" in out and "not mapped" in out
    code, out = qbo(warehouse, "transform", "--as-of", "yesterday")
    assert code == 2 and "--as-of" in out


def test_a_warehouse_never_synced_is_refused_not_built(tmp_path: Path) -> None:
    """A typo'd path is no silent success (issue 18 item 5): no empty warehouse built, no file made;
    a failing model's summary is tests/transform/test_transform_feedback.py's."""
    typo = tmp_path / "typo.duckdb"
    code, out = qbo(typo, "transform", "--select", "sync_drift")
    assert code == 2 and "no warehouse file" in out, out
    assert not typo.exists()


def test_a_refused_record_fixed_and_loaded_again_is_refused_no_more(
    warehouse: Path, demo_run: DemoRun, tmp_path: Path
) -> None:
    with (demo_run.workdir / "platform" / "customers.jsonl").open(encoding="utf-8") as lines:
        record = next(json.loads(line) for line in lines if '"cus_bad_email"' in line)
    record["email"] = "billing@broken.example"
    (tmp_path / "fixed").mkdir()
    (tmp_path / "fixed" / "customers.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    loaded = load_platform(str(tmp_path / "fixed"), warehouse=warehouse, pipelines_dir=tmp_path / "p")
    assert loaded.loaded == {"Customer": 1}
    result = run_dbt(warehouse, policy=DEMO_POLICY, command="run", select=["stg_platform__rejected"])
    assert result.success, result.summary()
    with duckdb.connect(str(warehouse), read_only=True) as db:
        refused = db.execute("SELECT entity, platform_id FROM staging.stg_platform__rejected").fetchall()
    assert refused == [("Invoice", "inv_bad_total")]
