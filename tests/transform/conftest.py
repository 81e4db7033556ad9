"""The demo, run once for the transform tests: sandbox -> OAuth -> sync -> platform records with planted
differences -> load -> dbt build -> drift report, in a temp dir. Tests read its warehouse and record."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from sandbox.demo import tour as demo


@dataclass
class DemoRun:
    workdir: Path
    output: str
    planted: dict[str, Any]

    @property
    def warehouse(self) -> Path:
        return self.workdir / "warehouse.duckdb"

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.warehouse), read_only=True) as db:
            return [tuple(r) for r in db.execute(sql, list(params)).fetchall()]


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    workdir = tmp_path_factory.mktemp("demo")
    out = io.StringIO()
    demo.run(out=out, workdir=workdir, round_trip=False)
    planted = json.loads((workdir / "platform" / "planted.json").read_text(encoding="utf-8"))
    return DemoRun(workdir, out.getvalue(), planted)
