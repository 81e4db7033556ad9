"""A second transform in the same process runs on the first one's parse (pipelines/transform/parsed.py),
into another warehouse too, and parses again as soon as a file of the project changes.

A copy of dbt_project/ gets one model of its own, and only it is selected: no raw data is needed.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from pipelines.mapping.policy import MasteringPolicy
from pipelines.transform import dbt_build, parsed

MODEL = "models/parse_once/parse_once.sql"


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    dbt_build.render_spec()
    copy = tmp_path / "dbt_project"
    shutil.copytree(dbt_build.DBT_PROJECT, copy, ignore=shutil.ignore_patterns("target", "logs"))
    (copy / MODEL).parent.mkdir()
    (copy / MODEL).write_text("select 1 as one\n", encoding="utf-8")
    parsed.forget()
    yield copy
    parsed.forget()


def build(project: Path, warehouse: Path) -> int:
    """The model built into `warehouse`; its value."""
    result = dbt_build.run_dbt(
        warehouse,
        policy=MasteringPolicy(),
        select=["parse_once"],
        project=project,
        target_path=project / "target",
    )
    assert result.success, result.summary()
    with duckdb.connect(str(warehouse), read_only=True) as db:
        schema = db.execute(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = 'parse_once'"
        ).fetchone()
        assert schema is not None
        return db.execute(f'SELECT one FROM "{schema[0]}".parse_once').fetchone()[0]


def test_the_parse_is_kept_across_warehouses_and_redone_when_the_project_changes(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parses: list[list[str]] = []
    real = dbt_build._parse

    def counted(common: list[str]) -> object:
        parses.append(common)
        return real(common)

    monkeypatch.setattr(dbt_build, "_parse", counted)
    first, second = (tmp_path / name / "warehouse.duckdb" for name in ("a", "b"))
    for warehouse in (first, second):
        warehouse.parent.mkdir()

    assert build(project, first) == 1
    assert build(project, second) == 1  # another warehouse of the same name: no parse
    assert len(parses) == 1

    (project / MODEL).write_text("select 2 as one\n", encoding="utf-8")
    assert build(project, second) == 2  # the edit is seen: parsed again
    assert len(parses) == 2

    other = tmp_path / "c" / "other.duckdb"  # another database name: nodes name their database
    other.parent.mkdir()
    assert build(project, other) == 2
    assert len(parses) == 3


def test_a_project_that_does_not_parse_is_reported_by_the_command_and_not_kept(
    project: Path, tmp_path: Path
) -> None:
    (project / MODEL).write_text("select {{ ref('no_such_model') }} as one\n", encoding="utf-8")
    result = dbt_build.run_dbt(
        tmp_path / "warehouse.duckdb",
        policy=MasteringPolicy(),
        select=["parse_once"],
        project=project,
        target_path=project / "target",
    )
    assert not result.success
    assert result.crash is not None and "no_such_model" in result.crash
    assert parsed._kept == {}
