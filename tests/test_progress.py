"""Progress on long work: bars on a terminal, steady plain lines in logs and CI, never a line per page."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from rich.progress import Progress as RichProgress

from pipelines.runtime.progress import Progress, progress_of


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
