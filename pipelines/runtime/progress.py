"""Progress on long work (sync pages, backfill windows, dbt nodes, push batches): rich bars on a
terminal, plain lines in logs and CI, on stderr so stdout keeps only the results.

Jobs take an `echo` callable for their result lines. `progress_of(echo)` gives them a `Progress` that
speaks through it: `progress(line)` is a result line (stdout on the command line), `progress.say(line)`
and `progress.advance(...)` are progress. The command line makes a live one (`Progress.live(echo)`):
bars on stderr when stderr is a terminal, otherwise a plain line per task at most every `every` seconds
and when the task ends (no carriage returns: a log or a CI transcript shows steady figures and not one
line per page), and nothing at all under `--quiet`. A job called with a plain `echo` (the demo tour, a
flow's logger) gets its progress as throttled lines through that same echo.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress

Echo = Callable[[str], None]
STEPS = {"extract": "extracting from QBO", "normalize": "normalizing", "load": "loading into the warehouse"}


def to_stderr(line: str) -> None:
    """A progress line on stderr, flushed: a log tailing it sees it when it is said. One write, line and
    newline together: dbt's threads report nodes at once, and `print` writes them apart."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def _silent(_line: str) -> None:
    return None


@dataclass
class _Task:
    completed: int = 0
    total: int | None = None
    unit: str = ""
    said_at: float = field(default_factory=time.monotonic)
    bar: TaskID | None = None


class Progress:
    """A tally per task; `progress(line)` passes a result line on, `say(line)` a progress line (both
    above the bars when they are live)."""

    def __init__(
        self,
        echo: Echo = print,
        bars: RichProgress | None = None,
        every: float = 5.0,
        status: Echo | None = None,
        *,
        results_on_terminal: bool = True,
    ) -> None:
        self.echo, self.bars, self.every = echo, bars, every
        self.status = status if status is not None else echo  # where progress lines go without bars
        self.results_on_terminal = results_on_terminal  # stdout is the terminal the bars are drawn on
        self._tasks: dict[str, _Task] = {}
        self._lock = threading.Lock()  # realms sync and backfill in threads

    def __call__(self, line: str) -> None:
        if self.bars is not None and self.results_on_terminal:
            self.bars.console.print(line, markup=False, highlight=False)
        else:
            self.echo(line)

    def say(self, line: str) -> None:
        """A progress line (what starts, what is running now): stderr on the command line, above the
        bars on a terminal, nothing under `--quiet`."""
        if self.bars is not None:
            self.bars.console.print(line, markup=False, highlight=False)
        else:
            self.status(line)

    def advance(
        self,
        task: str,
        step: int = 1,
        *,
        completed: int | None = None,
        total: int | None = None,
        unit: str = "",
        current: str | None = None,
        done: bool = False,
        always: bool = False,
    ) -> None:
        """Count `step` more (or set `completed`) of `task`; `current` names the item at work (a dbt
        model: "[41/98] int_drift_invoice"); `done` closes the task with a last line; `always` says
        this step off a terminal even inside the interval (a model that may run for minutes)."""
        with self._lock:
            state = self._tasks.setdefault(task, _Task(unit=unit))
            state.completed = completed if completed is not None else state.completed + step
            state.total = total if total is not None else state.total
            line = _line(task, state, current, done)
            if self.bars is not None:
                if state.bar is None:
                    state.bar = self.bars.add_task(task, total=state.total)
                described = f"{task}: {current}" if current else task
                self.bars.update(
                    state.bar, completed=state.completed, total=state.total, description=described
                )
                if done:  # the bar gives way to its last line: finished tasks do not pile up
                    self._tasks.pop(task)
                    self.bars.remove_task(state.bar)
                    self.bars.console.print(line, markup=False, highlight=False)
                return
            now = time.monotonic()
            if not (done or always) and now - state.said_at < self.every:
                return
            state.said_at = now
            if done:
                self._tasks.pop(task)
        self.status(line)

    @classmethod
    @contextmanager
    def live(cls, echo: Echo = print, *, quiet: bool = False, every: float = 5.0) -> Iterator[Progress]:
        """Bars on stderr when it is an interactive terminal (not under CI); plain progress lines on
        stderr anywhere else; no progress under `quiet`. Result lines always go through `echo`."""
        if quiet:
            yield cls(echo, every=every, status=_silent)
            return
        console = Console(stderr=True)
        if not (sys.stderr.isatty() and console.is_terminal) or os.environ.get("CI"):
            yield cls(echo, every=every, status=to_stderr)
            return
        bars = RichProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            redirect_stdout=False,  # results piped to a file stay in the file
            redirect_stderr=False,
        )
        with bars:
            yield cls(echo, bars, every=every, status=to_stderr, results_on_terminal=sys.stdout.isatty())


def _line(task: str, state: _Task, current: str | None, done: bool) -> str:
    if current is not None:
        of = f"/{state.total:,}" if state.total is not None else ""
        return f"{task}: [{state.completed:,}{of}] {current}"
    of = f"/{state.total:,}" if state.total is not None else ""
    return f"{task}: {state.completed:,}{of} {state.unit}".rstrip() + (" done" if done else "")


def progress_of(echo: Echo | None) -> Progress:
    """The caller's live progress when it passed one as its echo, else plain lines through `echo`."""
    if isinstance(echo, Progress):
        return echo
    return Progress(echo or _silent)


def dlt_collector(progress: Progress, prefix: str) -> Any:
    """A dlt collector (a pipeline's `collector`) that tells `progress` what a sync's run is at: each
    step as it starts (extract, normalize, load) and the entities extracted, the load jobs done.

    dlt is imported here, not at the top: the command line imports this module and stays light."""
    from dlt.common.runtime.collector_base import Collector  # noqa: PLC0415

    class StepCollector(Collector):
        step: str = ""

        def update(
            self,
            name: str,
            inc: int = 1,
            total: int | None = None,
            inc_total: int | None = None,
            message: str | None = None,
            label: str | None = None,
        ) -> None:
            counted = {"Resources": ("extract", "entities"), "Jobs": ("load", "jobs")}.get(name)
            if counted is None or label:
                return  # rows per table: the extraction's own pages say them
            task = f"{prefix}: {counted[0]}"
            state = progress._tasks.get(task)
            whole = (total if total is not None else state.total if state else None) or 0
            whole += inc_total or 0
            finished = (state.completed if state else 0) + inc
            done = bool(whole) and finished >= whole
            progress.advance(task, inc, total=whole or None, unit=counted[1], done=done)

        def _start(self, step: str) -> None:
            verb = step.split(" ", 1)[0].lower()
            progress.say(f"{prefix}: {STEPS.get(verb, verb)} ...")

        def _stop(self) -> None:
            return None

    return StepCollector()
