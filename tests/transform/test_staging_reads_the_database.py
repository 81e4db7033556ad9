"""Staging sees every raw table the warehouse holds, whatever dbt's relation cache says at that moment.

dbt fills its relation cache with a schema's tables one at a time while its other threads compile: a
staging model compiled meanwhile found `raw_platform.invoice__lines` missing and staged no rows. On a
loaded machine, now and then, every invoice's lines then drifted and a push sent invoices without lines
(QBO refused them: "Required parameter Line is missing"). Here the cache answers as it did then, with
none of a raw schema's tables, for every lookup.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dbt.adapters.base.impl import BaseAdapter

from pipelines.transform.dbt_build import run_dbt
from sandbox.demo.tour import DEMO_POLICY
from tests.demo_runs import DemoRun


def test_staging_reads_raw_tables_from_the_database_not_the_relation_cache(
    demo_run: DemoRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_run.warehouse, warehouse)
    listed = BaseAdapter.list_relations

    def half_listed(self: BaseAdapter, database: str | None, schema: str) -> list[Any]:
        return [] if schema.startswith("raw_") else listed(self, database, schema)

    monkeypatch.setattr(BaseAdapter, "list_relations", half_listed)
    result = run_dbt(warehouse, policy=DEMO_POLICY, command="run", select=["staging"])
    assert result.success, result.summary()
    with duckdb.connect(str(warehouse), read_only=True) as db:
        staged = {
            table: db.execute(f"SELECT count(*) FROM staging.{table}").fetchone()[0]
            for table in ("stg_platform__invoice_lines", "stg_qbo__invoice_lines", "stg_platform__invoices")
        }
        raw = db.execute("SELECT count(*) FROM raw_platform.invoice__lines").fetchone()[0]
    assert raw > 0 and staged["stg_platform__invoice_lines"] == raw, staged
    assert staged["stg_qbo__invoice_lines"] > 0 and staged["stg_platform__invoices"] > 0, staged
