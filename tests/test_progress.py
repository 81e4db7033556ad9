"""Progress on long work: bars on a terminal, steady plain lines on stderr in logs and CI (never a line
per page), nothing under --quiet; results stay on stdout."""

from __future__ import annotations

import io
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.progress import Progress as RichProgress

from pipelines.runtime.progress import Progress, dlt_collector, progress_of, to_stderr


def test_plain_lines_are_throttled_and_the_end_of_a_task_is_said() -> None:
    lines: list[str] = []
    progress = Progress(lines.append, every=3600)
    for page in range(1, 11):
        progress.advance("realm 1: Invoice", completed=page * 1000, unit="rows")
    assert lines == []  # ten pages inside the interval: nothing yet
    progress.advance("realm 1: Invoice", completed=10_500, unit="rows", done=True)
    assert lines == ["realm 1: Invoice: 10,500 rows done"]


def test_plain_lines_count_steps_against_a_total() -> None:
    lines: list[str] = []
    progress = Progress(lines.append, every=0)
    progress.advance("realm 1: push", 30, total=45, unit="operations")
    progress.advance("realm 1: push", 15, total=45, unit="operations", done=True)
    assert lines == ["realm 1: push: 30/45 operations", "realm 1: push: 45/45 operations done"]


def test_lines_said_at_once_from_threads_stay_whole(capfd: pytest.CaptureFixture[str]) -> None:
    """dbt reports nodes from its threads at once: each line reaches stderr whole, never run into
    the next (as `dbt build: [2/366] stg_billsdbt build: [3/366] ...` did)."""
    progress = Progress(status=to_stderr, every=0)
    said = [f"dbt build: [{n}/800] stg_platform__model_{n}" for n in range(800)]

    def say(lines: list[str]) -> None:
        for line in lines:
            progress.say(line)

    threads = [threading.Thread(target=say, args=(said[k::4],)) for k in range(4)]
    switching = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads switch as often as they can: between two writes too
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switching)
    assert sorted(capfd.readouterr().err.splitlines()) == sorted(said)


def test_bars_on_a_terminal_keep_lines_above_them() -> None:
    screen = io.StringIO()
    bars = RichProgress(console=Console(file=screen, force_terminal=True, width=100))
    echoed: list[str] = []
    with bars:
        progress = Progress(echoed.append, bars)
        progress("realm 1: syncing ...")
        progress.advance("dbt build", unit="nodes")
        progress.advance("dbt build", unit="nodes")
        (task,) = bars.tasks
        assert (task.description, task.completed) == ("dbt build", 2)
    assert echoed == []  # lines go to the terminal, above the bars
    assert "realm 1: syncing ..." in screen.getvalue()


def test_off_a_terminal_live_progress_is_plain_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    lines: list[str] = []
    with Progress.live(lines.append) as progress:
        progress("a line")
        assert progress.bars is None
    assert lines == ["a line"]
    assert progress_of(progress) is progress  # a job hands the caller's progress on
    assert progress_of(None).bars is None


def test_progress_goes_to_stderr_and_quiet_silences_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CI", raising=False)  # off a terminal (captured): plain lines, no carriage returns
    with Progress.live(print, every=0) as progress:
        progress("realm 1: 2,060 rows in 32 requests")  # a result: stdout
        progress.say("realm 1: syncing ...")
        progress.advance("dbt build", completed=41, total=98, current="int_drift_invoice")
    out, err = capsys.readouterr()
    assert out == "realm 1: 2,060 rows in 32 requests\n"
    assert err == "realm 1: syncing ...\ndbt build: [41/98] int_drift_invoice\n"
    with Progress.live(print, quiet=True, every=0) as progress:
        progress("the result")
        progress.say("realm 1: syncing ...")
        progress.advance("realm 1: push", 30, total=45, unit="operations", done=True)
    assert capsys.readouterr() == ("the result\n", "")


def test_a_model_that_starts_is_said_inside_the_interval() -> None:
    lines: list[str] = []
    progress = Progress(lines.append, every=3600)
    progress.advance("dbt build", completed=1, total=3, current="test not_null_x")  # a test: throttled
    progress.advance("dbt build", completed=2, total=3, current="int_drift_invoice", always=True)
    assert lines == ["dbt build: [2/3] int_drift_invoice"]


def test_a_sync_says_each_dlt_step_and_the_entities_extracted(tmp_path: Path) -> None:
    """dlt's own counters (a pipeline's collector) as the sync's progress: steps, entities, load jobs."""
    import dlt

    lines: list[str] = []
    progress = Progress(lines.append, every=3600)

    @dlt.source
    def two() -> list[Any]:
        return [
            dlt.resource([{"id": 1}], name="customers"),
            dlt.resource([{"id": 2}, {"id": 3}], name="invoices"),
        ]

    pipeline = dlt.pipeline(
        pipeline_name="progress_test",
        pipelines_dir=str(tmp_path / "pipelines"),
        destination=dlt.destinations.duckdb(str(tmp_path / "w.duckdb")),
        dataset_name="raw",
    )
    pipeline.collector = dlt_collector(progress, "realm 1")
    pipeline.run(two())
    assert lines[:2] == ["realm 1: extracting from QBO ...", "realm 1: extract: 2/2 entities done"]
    assert "realm 1: normalizing ..." in lines and "realm 1: loading into the warehouse ..." in lines
    assert any(line.startswith("realm 1: load: ") and line.endswith(" jobs done") for line in lines), lines
