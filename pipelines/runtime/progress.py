"""Progress on long work (sync pages, backfill windows, dbt nodes, push batches): rich bars on a
terminal, plain lines in logs and CI.

Jobs take an `echo` callable for their lines. `progress_of(echo)` gives them a `Progress` that speaks
through it: a bar per task when the command line made a live one (`Progress.live(echo)` on a
terminal), otherwise a plain line per task at most every `every` seconds and when the task ends, so a
log or a CI transcript shows steady figures and not one line per page.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress

Echo = Callable[[str], None]


@dataclass
class _Task:
    completed: int = 0
    total: int | None = None
    unit: str = ""
    said_at: float = field(default_factory=time.monotonic)
    bar: TaskID | None = None


class Progress:
    """A tally per task; `progress(line)` passes a plain line on (above the bars when they are live)."""

    def __init__(self, echo: Echo = print, bars: RichProgress | None = None, every: float = 5.0) -> None:
        self.echo, self.bars, self.every = echo, bars, every
        self._tasks: dict[str, _Task] = {}
        self._lock = threading.Lock()  # realms sync and backfill in threads

    def __call__(self, line: str) -> None:
        if self.bars is not None:
            self.bars.console.print(line, markup=False, highlight=False)
        else:
            self.echo(line)

    def advance(
        self,
        task: str,
        step: int = 1,
        *,
        completed: int | None = None,
        total: int | None = None,
        unit: str = "",
        done: bool = False,
    ) -> None:
        """Count `step` more (or set `completed`) of `task`; `done` closes it with a last line."""
        with self._lock:
            state = self._tasks.setdefault(task, _Task(unit=unit))
            state.completed = completed if completed is not None else state.completed + step
            state.total = total if total is not None else state.total
            if self.bars is not None:
                if state.bar is None:
                    state.bar = self.bars.add_task(task, total=state.total)
                self.bars.update(state.bar, completed=state.completed, total=state.total)
                if done:
                    self._tasks.pop(task)
                return
            now = time.monotonic()
            if not done and now - state.said_at < self.every:
                return
            state.said_at = now
            if done:
                self._tasks.pop(task)
        of = f"/{state.total:,}" if state.total is not None else ""
        self.echo(f"{task}: {state.completed:,}{of} {state.unit}".rstrip() + (" done" if done else ""))

    @classmethod
    @contextmanager
    def live(cls, echo: Echo = print) -> Iterator[Progress]:
        """Bars on an interactive terminal (not under CI); plain lines through `echo` anywhere else."""
        console = Console(stderr=False)
        if not (sys.stdout.isatty() and console.is_terminal) or os.environ.get("CI"):
            yield cls(echo)
            return
        bars = RichProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        with bars:
            yield cls(echo, bars)


def progress_of(echo: Echo | None) -> Progress:
    """The caller's live progress when it passed one as its echo, else plain lines through `echo`."""
    if isinstance(echo, Progress):
        return echo
    return Progress(echo or (lambda _line: None))
