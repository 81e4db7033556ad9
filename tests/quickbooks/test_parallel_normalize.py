"""What dlt does between extract and load, for a big first sync: a process per core normalises it
(pipelines/runtime/warehouse.py, normalize_workers), into the warehouse a single process loads, and
the files in between are written plain."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from dlt.pipeline.pipeline import Pipeline

from pipelines.runtime import warehouse
from sources.quickbooks import source
from tests.quickbooks.conftest import Realm, rows_by_place


def test_a_parallel_normalise_loads_what_one_process_loads(
    make_realm: Callable[..., Realm], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = make_realm("demo")
    many = dataclasses.replace(one, warehouse=tmp_path / "many.duckdb", pipelines_dir=tmp_path / "many")
    assert warehouse.normalize_workers(warehouse.NORMALIZE_IN_PARALLEL - 1) == 1
    monkeypatch.setattr(source, "COLUMNAR_PAGE", 10**9)  # every record as a row dlt normalises
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
    single, parallel = rows_by_place(one.warehouse), rows_by_place(many.warehouse)
    assert len(single) > 40 and sum(len(rows) for rows in single.values()) > 5000
    assert {t: sum(r.values()) for t, r in parallel.items()} == {
        t: sum(r.values()) for t, r in single.items()
    }
    assert parallel == single
    many.assert_warehouse_equals_sandbox()


def test_the_files_between_the_steps_are_written_plain(tmp_path: Path) -> None:
    """dlt reads the extract step's writer settings from the sources' section: set under `extract`
    they were never read, and a first sync gzipped every extracted row (about 7 s of a medium one)."""
    from sources.quickbooks import quickbooks_docs
    from tests.conftest import sample

    pipeline = warehouse.qbo_pipeline("7001", tmp_path / "w.duckdb", tmp_path / "pipelines")
    doc = sample("invoice_doc_sample_130.json")["Invoice"]
    docs = [{**doc, "Id": str(n)} for n in range(2500)]
    pipeline.extract(quickbooks_docs("7001", {"Invoice": docs}))
    extracted = list((tmp_path / "pipelines").glob("*/normalize/extracted/*/new_jobs/invoice.*"))
    assert extracted and all(path.read_bytes()[:2] != b"\x1f\x8b" for path in extracted)  # no gzip
