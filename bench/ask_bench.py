"""`qbo ask` as a bookkeeper waits for it: end-to-end latency of 50 questions from the CLI (a process per
question, as typed in a terminal) and from a running `qbo mcp` (one process, a tool call per question).
Prints p50 and p95 of each; asserts nothing.

    uv run python bench/ask_bench.py [--questions 50] [--workdir var/bench/ask]

The warehouse is the demo's (the tour without its round trip, built once into --workdir). The CLI is the
`qbo` script of this environment, run directly: `uv run` adds its own start-up on top.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

from bench.harness import ROOT, emit
from sandbox.demo import tour

QUESTIONS = [
    "how many customers",
    "Show me all unpaid invoices from last month over 1000 dollars",
    "total unpaid bills",
    "overdue invoices",
    "top 5 customers by open balance",
    "who owes us the most",
    "sales by month this year",
    "average invoice this year",
    "bills due next week",
    "invoices more than 90 days past due",
    "how many invoices this year",
    "payments this month",
    "unpaid invoices",
    "paid bills last month",
    "invoices over 5000",
    "how much do we owe",
    "customers",
    "open invoices due this month",
    "count of overdue bills",
    "largest unpaid invoices",
]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def demo_warehouse(workdir: Path) -> None:
    if (workdir / "warehouse.duckdb").exists():
        return
    print(f"building the demo warehouse into {workdir} (once) ...", flush=True)
    tour.run(out=io.StringIO(), workdir=workdir, round_trip=False)


def environment(workdir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "SOURCES__QUICKBOOKS__WAREHOUSE": str(workdir / "warehouse.duckdb"),
        "SOURCES__QUICKBOOKS__STORE_URL": f"sqlite:///{workdir / 'integration.sqlite'}",
        "DO_NOT_TRACK": "1",
    }


def cli_latencies(questions: list[str], env: dict[str, str]) -> tuple[list[float], int]:
    qbo = str(Path(sys.executable).with_name("qbo"))
    seconds, refused = [], 0
    for question in questions:
        started = time.perf_counter()
        done = subprocess.run(
            [qbo, "ask", question, "--json"], cwd=ROOT, env=env, capture_output=True, check=False
        )
        seconds.append(time.perf_counter() - started)
        refused += done.returncode != 0
    return seconds, refused


def mcp_latencies(questions: list[str], env: dict[str, str]) -> tuple[list[float], float, int]:
    server = StdioServerParameters(
        command=sys.executable, args=["-m", "pipelines.cli", "mcp"], cwd=str(ROOT), env=env
    )

    async def session() -> tuple[list[float], float, int]:
        started = time.perf_counter()
        async with Client(server, read_timeout_seconds=120) as client:
            await client.list_tools()
            ready = time.perf_counter() - started
            seconds, refused = [], 0
            for question in questions:
                asked = time.perf_counter()
                answer = await client.call_tool("qbo_ask", {"question": question})
                seconds.append(time.perf_counter() - asked)
                refused += bool(answer.is_error)
            return seconds, ready, refused

    return anyio.run(session)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=50)
    parser.add_argument("--workdir", type=Path, default=ROOT / "var" / "bench" / "ask")
    args = parser.parse_args()
    demo_warehouse(args.workdir)
    env = environment(args.workdir)
    questions = [QUESTIONS[n % len(QUESTIONS)] for n in range(args.questions)]
    print(f"ask bench: {len(questions)} questions on the demo warehouse {args.workdir / 'warehouse.duckdb'}")
    cli, refused = cli_latencies(questions, env)
    print(
        f"  qbo ask (a process each): p50 {statistics.median(cli) * 1000:,.0f} ms, "
        f"p95 {percentile(cli, 0.95) * 1000:,.0f} ms, max {max(cli) * 1000:,.0f} ms ({refused} refused)"
    )
    emit("ask.cli.p50_ms", statistics.median(cli) * 1000, "ms")
    served, ready, refused = mcp_latencies(questions, env)
    print(
        f"  qbo mcp (one process, ready in {ready:.1f} s): p50 {statistics.median(served) * 1000:,.0f} ms, "
        f"p95 {percentile(served, 0.95) * 1000:,.0f} ms, max {max(served) * 1000:,.0f} ms ({refused} refused)"
    )
    emit("ask.mcp.p50_ms", statistics.median(served) * 1000, "ms")


if __name__ == "__main__":
    main()
