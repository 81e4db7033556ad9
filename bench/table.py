"""Run a set of benches and print one table: each figure beside issue 19's goal and baseline.

    uv run python bench/table.py [--set quick|full] [--json FILE]

Each bench runs as its own process, as `make bench` always ran them, and keeps its own human output;
its `BENCH-JSON` lines (`bench.harness.emit`) are collected instead of printed. The table then gives
every figure of `bench/goals.py`: measured, goal, met, baseline (issue 19's "today"), measured /
baseline, and the peak memory of the bench process that measured it (its largest process, from the
kernel's accounting at exit). A figure its set did not run shows "not run"; one whose bench failed shows
"failed". `--json` also writes the figures and the machine, for `bench/compare.py`. Asserts nothing: the
exit status is 1 only when a bench itself failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.goals import BY_NAME, FIGURES, Figure
from bench.harness import JSON_PREFIX, ROOT

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"

QUICK: tuple[tuple[str, ...], ...] = (
    ("bench/startup_bench.py",),
    ("bench/sync_bench.py", "--company", "demo"),
    ("bench/limits_bench.py", "--company", "demo", "--latency-ms", "100-200", "--label", "limits"),
    ("bench/transform_bench.py", "--company", "demo"),
    ("bench/push_bench.py",),  # its 2,400 creates: a shorter push fits in the first minute's allowance
    ("bench/webhook_bench.py",),
)
FULL: tuple[tuple[str, ...], ...] = (
    ("bench/startup_bench.py",),
    ("bench/sync_bench.py", "--company", "demo"),
    ("bench/sync_bench.py", "--company", "medium"),
    ("bench/sync_bench.py", "--company", "large"),
    ("bench/limits_bench.py", "--company", "demo", "--latency-ms", "100-200", "--label", "limits"),
    ("bench/limits_bench.py", "--company", "medium", "--latency-ms", "1000-2000"),
    ("bench/sandbox_query_bench.py", "--company", "large"),
    ("bench/transform_bench.py", "--company", "large"),
    ("bench/push_bench.py",),
    ("bench/ask_bench.py",),
    ("bench/webhook_bench.py",),
    ("bench/webhook_bench.py", "--store", POSTGRES),
)
SETS = {"quick": QUICK, "full": FULL}


@dataclass
class Run:
    """One bench process: its command, exit code, wall time, peak memory and the figures it emitted."""

    argv: tuple[str, ...]
    exit_code: int = 0
    seconds: float = 0.0
    peak_mib: float = 0.0
    figures: dict[str, float] = field(default_factory=dict)


def run_bench(argv: tuple[str, ...]) -> Run:
    """The bench as a child process; its output passes through, its JSON lines are collected."""
    run = Run(argv)
    print(f"\n== {shlex.join(argv)}", flush=True)
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, *argv], cwd=ROOT, stdout=subprocess.PIPE, text=True, bufsize=1)
    assert child.stdout is not None
    for line in child.stdout:
        if line.startswith(JSON_PREFIX):
            figure = json.loads(line[len(JSON_PREFIX) :])
            run.figures[figure["name"]] = float(figure["value"])
        else:
            sys.stdout.write(line)
            sys.stdout.flush()
    # wait4 rather than wait: the kernel's peak resident set of the child (or of its largest
    # descendant it waited for: a sandbox, a gateway), which Popen.wait does not return
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = run.exit_code = os.waitstatus_to_exitcode(status)
    run.seconds = time.perf_counter() - started
    run.peak_mib = usage.ru_maxrss / 1024
    if run.exit_code:
        print(f"== FAILED with exit code {run.exit_code}", flush=True)
    return run


def machine() -> dict[str, str]:
    """What the figures depend on: cores, memory, Python, CPU model, load, and the code measured."""
    info = {line.split(":")[0].strip(): line.split(":", 1)[1].strip() for line in _lines("/proc/cpuinfo")}
    memory = {line.split(":")[0]: line.split(":", 1)[1].strip() for line in _lines("/proc/meminfo")}
    total_kib = int(memory.get("MemTotal", "0 kB").split()[0])
    commit = _git("rev-parse", "--short", "HEAD")
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "cores": str(os.cpu_count()),
        "memory": f"{total_kib / 2**20:.1f} GiB",
        "python": platform.python_version(),
        "cpu": info.get("model name", platform.processor() or "unknown"),
        "load": " ".join(f"{n:.2f}" for n in os.getloadavg()),
        "commit": (commit or "unknown") + (" (uncommitted changes)" if dirty else ""),
    }


def _git(*args: str) -> str:
    """A read-only git query's output, empty outside a checkout."""
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return done.stdout.strip()


def _lines(path: str) -> list[str]:
    try:
        return [line for line in Path(path).read_text().splitlines() if ":" in line]
    except OSError:
        return []


def _digits(value: float, like: float) -> str:
    """`value` at the precision that suits `like` (a range's ends share one)."""
    if abs(like) >= 100 or (float(value).is_integer() and float(like).is_integer()):
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(like) < 10 else f"{value:.1f}"


def number(value: float, unit: str, low: float | None = None) -> str:
    """A figure with its unit; with `low`, the range low-value."""
    text = _digits(value, value) if low is None else f"{_digits(low, value)}-{_digits(value, value)}"
    if unit == "%":
        return f"{value:.0f}%" if low is None else f"{low:.0f}-{value:.0f}%"
    return f"{text}x" if unit == "x" else f"{text} {unit}".rstrip()


def span(figure: Figure) -> str:
    if figure.baseline is None:
        return "-"
    low, high = figure.baseline
    return number(high, figure.unit, None if low == high else low)


def row(figure: Figure, value: float | None, state: str, peak: float | None) -> list[str]:
    goal = "-" if figure.goal is None else f"{figure.goal[0]} {number(figure.goal[1], figure.unit)}"
    if value is None:
        return [figure.label, state, goal, "", span(figure), "", ""]
    met = {True: "yes", False: "NO", None: ""}[figure.met(value)]
    ratio = ""
    if figure.baseline is not None and all(figure.baseline):
        low, high = figure.baseline
        ratio = f"{value / low:.2f}x" if low == high else f"{value / high:.2f}-{value / low:.2f}x"
    return [
        figure.label,
        number(value, figure.unit),
        goal,
        met,
        span(figure),
        ratio,
        f"{peak:,.0f}" if peak else "",
    ]


def table(runs: list[Run], chosen: tuple[tuple[str, ...], ...]) -> list[list[str]]:
    """A row per figure of the goals (in the issue's order), then any figure a bench printed that the
    goals do not list."""
    values: dict[str, tuple[float, float]] = {}
    failed = {name for run in runs if run.exit_code for name in _names_of(run.argv)}
    for run in runs:
        for name, value in run.figures.items():
            values[name] = (value, run.peak_mib)
    rows = []
    for figure in FIGURES:
        if figure.ratio_of is not None:
            top, bottom = figure.ratio_of
            if top in values and bottom in values and values[bottom][0]:
                values[figure.name] = (values[top][0] / values[bottom][0], 0.0)
        if figure.name in values:
            value, peak = values[figure.name]
            rows.append(row(figure, value, "", peak))
        else:
            ran = any(figure.name in _names_of(argv) for argv in chosen)
            state = "failed" if figure.name in failed else ("not reported" if ran else "not run")
            rows.append(row(figure, None, state, None))
    for name, (value, peak) in values.items():
        if name not in BY_NAME:
            rows.append(row(Figure(name, name, ""), value, "", peak))
    return rows


def _names_of(argv: tuple[str, ...]) -> set[str]:
    """The figures a bench command is expected to print (to tell "failed" and "not reported" from
    "not run")."""
    script = Path(argv[0]).stem
    options = dict(zip(argv[1::2], argv[2::2], strict=False))
    company = options.get("--company", "demo")
    expected = {
        "startup_bench": ["start.help.seconds", "start.command.seconds"],
        "sync_bench": [
            f"sync.{company}.{kind}"
            for kind in ("full.seconds", "full.requests", "idle.seconds", "idle.requests")
        ]
        + [f"sync.{company}.peak_mib"]
        + ([f"sync.{company}.idle_process.seconds"] if company in ("tiny", "demo") else []),
        "limits_bench": [
            f"sync.{company}.{options.get('--label', 'latency')}.{kind}"
            for kind in ("seconds", "bound_ratio", "throttled_429", "requests")
        ],
        "transform_bench": [f"transform.{company}.dbt_seconds"],
        "push_bench": ["push.ops_per_min", "push.bound_share"],
        "ask_bench": ["ask.cli.p50_ms", "ask.mcp.p50_ms"],
        "sandbox_query_bench": [f"sandbox.{options.get('--company', 'large')}.worst_page_ms"],
        "webhook_bench": [
            f"webhook.{'postgresql' if '--store' in options else 'sqlite'}.{kind}"
            for kind in ("events_per_s", "p99_ms")
        ],
    }
    return set(expected.get(script, []))


def render(rows: list[list[str]]) -> str:
    header = ["figure", "measured", "goal", "met", "baseline", "x baseline", "peak MiB"]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for cells in [header, *rows]:
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            )
        )
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--set", default="quick", choices=sorted(SETS), help="quick: the demo company [quick]"
    )
    parser.add_argument("--json", type=Path, help="also write the figures and the machine here")
    args = parser.parse_args()
    chosen = SETS[args.set]
    before = machine()
    started = time.perf_counter()
    runs = [run_bench(argv) for argv in chosen]
    after = machine()
    rows = table(runs, chosen)
    print(
        f"\nbench table ({args.set} set, {time.perf_counter() - started:.0f} s); "
        "goals and baselines: issue 19"
    )
    print(render(rows))
    print(
        "  x baseline: measured / issue 19's figure for today (a range gives both ends); peak MiB: the\n"
        "  largest process of the bench that measured it; not run: the set has no bench for it\n"
        "  (`make bench BENCH=full` for more)"
    )
    print(
        f"machine: {before['cores']} cores, {before['memory']}, Python {before['python']}, {before['cpu']}; "
        f"load {before['load']} before, {after['load']} after; commit {before['commit']}"
    )
    for run in runs:
        state = f"exit {run.exit_code}" if run.exit_code else "ok"
        print(f"  {shlex.join(run.argv):<50} {run.seconds:7.1f} s  peak {run.peak_mib:6,.0f} MiB  {state}")
    if args.json:
        figures = {name: value for run in runs for name, value in run.figures.items()}
        record = {
            "set": args.set,
            "machine": before,
            "figures": figures,
            "failed": [r.argv for r in runs if r.exit_code],
        }
        args.json.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        print(f"figures written to {args.json}")
    if any(run.exit_code for run in runs):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
