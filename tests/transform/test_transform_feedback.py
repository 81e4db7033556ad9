"""`qbo transform` says what it is doing and, when a model breaks, which one, where, and why.

A copy of dbt_project/ gets three small models of its own (one that builds, with a test; one with a
column that does not exist; one after it), and only they are selected: the parse is the cost, not a build.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli.app import app
from pipelines.runtime.progress import Progress
from pipelines.transform import dbt_build
from pipelines.transform.dbt_build import Failure, TransformResult
from tests.demo_runs import DemoRun

runner = CliRunner()
SELECT = "feedback_ok broken_model+"

MODELS = {
    "feedback_ok.sql": "select 1 as one\n",
    "broken_model.sql": "select no_such_column from {{ ref('feedback_ok') }}\n",
    "after_broken.sql": "select * from {{ ref('broken_model') }}\n",
    "feedback.yml": (
        "version: 2\nmodels:\n  - name: feedback_ok\n    columns:\n      - name: one\n"
        "        data_tests: [not_null]\n"
    ),
}


@pytest.fixture
def broken_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """dbt_project/ copied, with the three models under models/feedback/; the transform builds the copy."""
    dbt_build.render_spec()  # the copy carries the spec macro as the build renders it
    project = tmp_path / "dbt_project"
    shutil.copytree(dbt_build.DBT_PROJECT, project, ignore=shutil.ignore_patterns("target", "logs"))
    (project / "models" / "feedback").mkdir()
    for name, text in MODELS.items():
        (project / "models" / "feedback" / name).write_text(text, encoding="utf-8")
    monkeypatch.setattr(dbt_build, "DBT_PROJECT", project)
    return project


@pytest.fixture
def warehouse(demo_run: DemoRun, tmp_path: Path) -> Path:
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_run.warehouse, copy)
    return copy


def qbo_transform(warehouse: Path, *args: str) -> tuple[int, str, str]:
    store = f"sqlite:///{warehouse.parent / 'integration.sqlite'}"
    result = runner.invoke(app, ["--warehouse", str(warehouse), "--store", store, "transform", *args])
    return result.exit_code, result.stdout, result.stderr


def test_a_failing_model_is_one_block_naming_model_file_and_database_error(
    broken_project: Path, warehouse: Path
) -> None:
    code, out, err = qbo_transform(warehouse, "--select", SELECT)
    assert code == 1, out + err
    assert "Traceback" not in out + err
    # progress: each model as it starts, on stderr, a line each (no carriage returns off a terminal)
    assert "\r" not in err
    progress = [line for line in err.splitlines() if line.startswith("dbt build: [")]
    assert any(line.endswith("] broken_model") for line in progress), err
    # the summary in words, and the failure in one block: the model, its file, the database's sentence
    assert "dbt build FAILED" in err
    assert "1 model built, 1 model failed, 1 model skipped, 1 test passed" in err
    block = err[err.index("ERROR model broken_model") :]
    assert "file:  dbt_project/models/feedback/broken_model.sql" in block
    assert "Binder Error" in block and "no_such_column" in block
    assert "Runtime Error in model" not in block  # dbt's preamble is left out: the block says it
    assert "`qbo transform`" in block


def test_quiet_keeps_the_failure_and_drops_the_progress(
    warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job stands in (dbt ran in the test above): `--quiet` silences progress, never the failure."""

    def failing(connector: object, *, echo: Progress, **_: object) -> TransformResult:
        echo.advance("dbt build", completed=1, total=2, current="broken_model", always=True)
        failed = TransformResult(False, 1.0, {"error": 1})
        failed.kinds = {"model": {"error": 1}}
        failed.failures = [Failure("broken_model", "model", "error", "Binder Error: no_such_column")]
        return failed

    monkeypatch.setattr(dbt_build, "transform", failing)
    code, out, err = qbo_transform(warehouse, "--quiet")
    assert (code, out) == (1, "")
    assert "dbt build: [" not in err
    assert "ERROR model broken_model" in err and "Binder Error" in err
    code, out, err = qbo_transform(warehouse)
    assert code == 1 and "dbt build: [1/2] broken_model" in err


def test_the_summary_says_the_counts_in_words() -> None:
    result = TransformResult(True, 7.25)
    result.kinds = {
        "test": {"pass": 257},
        "model": {"success": 98},
        "unit_test": {"pass": 6},
        "seed": {"success": 1},
    }
    assert result.summary() == (
        "dbt build passed in 7.2 s: 98 models built, 1 seed loaded, 257 tests passed, 6 unit tests passed"
    )
    failed = TransformResult(False, 1.0, {"error": 1, "skipped": 3})
    failed.kinds = {"model": {"error": 1, "skipped": 3}}
    failed.failures = [
        Failure("int_x", "model", "error", 'Binder Error: column "y" not found', "dbt_project/models/x.sql")
    ]
    assert failed.summary().splitlines() == [
        "dbt build FAILED in 1.0 s: 1 model failed, 3 models skipped",
        "  ERROR model int_x did not build",
        "    file:  dbt_project/models/x.sql",
        '    error: Binder Error: column "y" not found',
        "  3 nodes after it were skipped",
        "  fix the model (or the data it reads) and run `qbo transform` again; "
        "dbt's whole log: dbt_project/logs/dbt.log",
    ]


def test_a_database_error_is_its_own_sentence() -> None:
    message = (
        "Runtime Error in model broken_model (models/feedback/broken_model.sql)\n"
        '  Binder Error: Referenced column "no_such_column" not found in FROM clause!'
    )
    assert dbt_build.error_sentence(message) == (
        'Binder Error: Referenced column "no_such_column" not found in FROM clause!'
    )
