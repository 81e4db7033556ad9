"""A big extract is normalised by a process per core (pipelines/runtime/warehouse.py, normalize_workers):
the warehouse it loads is the one a single process loads, every table and column, each nested row
under the same record."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dlt.pipeline.pipeline import Pipeline

from pipelines.runtime import warehouse
from pipelines.runtime.warehouse import QBO_DATASET as DATASET
from tests.quickbooks.conftest import Realm


def contents(path: Path) -> dict[str, Counter[tuple[Any, ...]]]:
    """Each table's rows without dlt's random keys; a nested row carries its record's Id instead."""
    found = {}
    with duckdb.connect(str(path), read_only=True) as db:
        tables = [
            t for (t,) in db.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ? "
                "AND table_name NOT LIKE '\\_dlt%' ESCAPE '\\'",
                [DATASET],
            ).fetchall()
        ]  # fmt: skip
        for table in tables:
            columns = [
                c for (c,) in db.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = ? "
                    "AND table_name = ? ORDER BY column_name",
                    [DATASET, table],
                ).fetchall()
                if not c.startswith("_dlt_")
            ]  # fmt: skip
            picked = ", ".join(f"t.{c}" for c in columns)
            if "__" in table:  # nested: under which record
                root = table.split("__")[0]
                sql = (
                    f"SELECT r.id, {picked} FROM {DATASET}.{table} t "
                    f"JOIN {DATASET}.{root} r ON r._dlt_id = t._dlt_root_id"
                )
            else:
                sql = f"SELECT {picked} FROM {DATASET}.{table} t"
            found[table] = Counter(tuple(str(v) for v in row) for row in db.execute(sql).fetchall())
    return found


def test_a_parallel_normalise_loads_what_one_process_loads(
    make_realm: Callable[..., Realm], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = make_realm("demo")
    many = dataclasses.replace(one, warehouse=tmp_path / "many.duckdb", pipelines_dir=tmp_path / "many")
    assert warehouse.normalize_workers(warehouse.NORMALIZE_IN_PARALLEL - 1) == 1
    first = one.sync()
    monkeypatch.setattr(warehouse, "NORMALIZE_IN_PARALLEL", 0)  # the demo's 2,000 rows count as big
    monkeypatch.setattr(warehouse.os, "cpu_count", lambda: 2)  # two processes on any machine
    asked: list[int] = []
    normalize = Pipeline.normalize

    def counted(self: Pipeline, workers: int = 1) -> Any:
        asked.append(workers)
        return normalize(self, workers=workers)

    monkeypatch.setattr(Pipeline, "normalize", counted)
    second = many.sync()
    assert asked == [2]
    assert second.rows == first.rows and sum(first.rows.values()) > 1000
    single, parallel = contents(one.warehouse), contents(many.warehouse)
    assert len(single) > 40 and sum(len(rows) for rows in single.values()) > 5000
    assert {t: sum(r.values()) for t, r in parallel.items()} == {
        t: sum(r.values()) for t, r in single.items()
    }
    assert parallel == single
    many.assert_warehouse_equals_sandbox()
