"""`make bench`'s table (issue 19 item 6): figures beside the issue's goals, nothing invented."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.goals import BY_NAME, FIGURES
from bench.table import QUICK, Run, render, table

ROOT = Path(__file__).resolve().parents[1]


def test_the_table_shows_what_ran_and_says_not_run_for_the_rest() -> None:
    runs = [
        Run(("bench/sync_bench.py", "--company", "demo"), 0, 30.0, 310.0, {"sync.demo.full.seconds": 8.25}),
        Run(("bench/webhook_bench.py",), 1, 5.0, 90.0, {}),
    ]
    rows = {cells[0]: cells for cells in table(runs, QUICK)}
    demo = rows[BY_NAME["sync.demo.full.seconds"].label]
    assert demo[1] == "8.25 s"  # measured
    assert demo[4] == "16.5 s"  # the baseline
    assert demo[5] == "0.50x"  # measured / baseline
    assert demo[6] == "310"  # the bench process's peak MiB
    assert rows[BY_NAME["sync.medium.full.seconds"].label][1] == "not run"  # not in the quick set
    assert rows[BY_NAME["webhook.sqlite.events_per_s"].label][1] == "failed"
    assert rows[BY_NAME["push.ops_per_min"].label][1] == "not reported"  # in the set, but no figure came
    assert len(rows) == len({f.label for f in FIGURES})
    assert "x baseline" in render(list(rows.values())).splitlines()[0]


def test_a_bench_prints_its_figures_as_json_lines_beside_its_own() -> None:
    done = subprocess.run(
        [sys.executable, "bench/startup_bench.py", "--rounds", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "qbo --help" in done.stdout
    figures = [
        json.loads(line.split(" ", 1)[1])
        for line in done.stdout.splitlines()
        if line.startswith("BENCH-JSON ")
    ]
    assert {f["name"] for f in figures} == {"start.help.seconds", "start.command.seconds"}
    assert all(f["unit"] == "s" and f["value"] > 0 for f in figures)
