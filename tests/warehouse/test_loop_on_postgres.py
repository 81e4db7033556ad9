"""Issue 16, item 1 and 2: the loop after the loads (dbt build, publishing, the review queues, the drift
report) gives on a PostgreSQL warehouse exactly what it gives on DuckDB for the same data, and on
PostgreSQL a transform neither waits for loads nor lets them wait; only a second transform waits.

Both demo runs (tests/demo_runs.py) are the same tour of the same company, one per warehouse."""

from __future__ import annotations

import json
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flows.writer import WAREHOUSE_WRITER, warehouse_writer
from pipelines.cli.app import app
from pipelines.report.drift import read
from pipelines.runtime.settings import Settings
from pipelines.runtime.warehouse_sql import TRANSFORM_LOCK, one_at_a_time, open_warehouse
from pipelines.transform.publish import read_review, read_warehouse
from tests.demo_runs import DemoRun, pg_database


def comparable(value: Any) -> Any:
    """Values as both engines should agree on them: numbers by value, the rest as text."""
    if isinstance(value, Decimal | float | int) and not isinstance(value, bool):
        return f"{Decimal(str(value)).normalize():f}"
    if isinstance(value, dict):
        return {k: comparable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [comparable(v) for v in value]
    return None if value is None else str(value)


def canonical(rows: list[Any]) -> list[str]:
    return sorted(json.dumps(comparable(r), sort_keys=True) for r in rows)


def tour_figures(run: DemoRun) -> list[str]:
    """The lines of the tour that state what the transform found."""
    keys = ("published", "wait for review", "drift:", "loaded", "dbt build passed")
    return [
        line.split(" in ")[0] if "dbt build passed" in line else line
        for line in run.output.splitlines()
        if any(key in line for key in keys)
    ]


def test_the_tour_states_the_same_figures_on_both_warehouses(demo_run: DemoRun, pg_demo_run: DemoRun) -> None:
    figures = tour_figures(pg_demo_run)
    assert any("published" in line for line in figures) and any("drift:" in line for line in figures)
    assert figures == tour_figures(demo_run)


def test_published_references_and_review_queues_are_the_same(demo_run: DemoRun, pg_demo_run: DemoRun) -> None:
    def references(run: DemoRun) -> list[str]:
        return canonical(
            [{k: v for k, v in r.items() if k != "published_at"} for r in read_warehouse(run.warehouse)]
        )

    assert len(references(pg_demo_run)) > 500
    assert references(pg_demo_run) == references(demo_run)
    pg_entries, pg_records = read_review(pg_demo_run.warehouse)
    entries, records = read_review(demo_run.warehouse)
    assert len(pg_entries) > 100
    assert canonical(pg_entries) == canonical(entries)
    assert canonical(pg_records) == canonical(records)


def test_the_drift_report_is_the_same(demo_run: DemoRun, pg_demo_run: DemoRun) -> None:
    pg, duck = read(pg_demo_run.warehouse), read(demo_run.warehouse)
    assert pg.figures == duck.figures
    assert pg.actions == duck.actions
    for name, table in duck.tables.items():
        assert pg.tables[name].columns == table.columns, name
        assert canonical(pg.tables[name].rows) == canonical(table.rows), name
    assert "trust" not in pg.warehouse and pg.warehouse.startswith("postgresql://")


def test_qbo_report_and_transform_through_the_cli_on_postgresql(pg_demo_run: DemoRun, tmp_path: Path) -> None:
    url, store = str(pg_demo_run.warehouse), pg_demo_run.settings.store_url
    runner = CliRunner()
    report = runner.invoke(
        app, ["--warehouse", url, "--store", store, "report", "drift", "--out", str(tmp_path / "r")]
    )
    assert report.exit_code == 0, report.output
    assert (tmp_path / "r" / "drift_report.html").exists()
    assert "fields drifting" in report.output or "drift" in report.output
    built = runner.invoke(app, ["--warehouse", url, "--store", store, "transform", "--select", "staging"])
    assert built.exit_code == 0, built.output
    assert "dbt build passed" in built.output


def test_a_missing_build_on_postgresql_says_to_transform(postgres_base: str) -> None:
    with (
        pg_database(postgres_base) as url,
        pytest.raises(FileNotFoundError, match="run `qbo transform` first"),
    ):
        read(url)


def test_a_transform_waits_only_for_another_transform(postgres_base: str) -> None:
    """The transform lock is PostgreSQL's advisory lock: a second holder waits until the first lets go;
    a reader or writer of the tables meanwhile does not."""
    with pg_database(postgres_base) as url:
        events: list[str] = []
        first_in = threading.Event()
        release = threading.Event()

        def first() -> None:
            with one_at_a_time(url, TRANSFORM_LOCK):
                events.append("first in")
                first_in.set()
                release.wait(30)
                events.append("first out")

        def second() -> None:
            with one_at_a_time(url, TRANSFORM_LOCK):
                events.append("second in")

        threads = [threading.Thread(target=first)]
        threads[0].start()
        assert first_in.wait(30)
        threads.append(threading.Thread(target=second))
        threads[1].start()
        with open_warehouse(url, write=True) as db:  # a load meanwhile: not held up
            db.execute("CREATE TABLE loaded (n int)")
            db.execute("INSERT INTO loaded VALUES (?)", [1])
        events.append("loaded")
        time.sleep(0.5)
        assert "second in" not in events
        release.set()
        for t in threads:
            t.join(30)
        assert events == ["first in", "loaded", "first out", "second in"]


def test_the_writer_slot_follows_the_warehouse(tmp_path: Path) -> None:
    duck = Settings(warehouse=tmp_path / "w.duckdb")
    pg = Settings(warehouse_url="postgresql://postgres@127.0.0.1:5432/test")
    assert warehouse_writer(duck) is WAREHOUSE_WRITER
    held = warehouse_writer(pg)
    with held, held:  # nothing to wait for: PostgreSQL has many writers
        assert not WAREHOUSE_WRITER._lock.locked()
