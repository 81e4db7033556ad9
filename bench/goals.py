"""Issue 19's goals and baselines, in one place: what `bench/table.py` prints each measured figure beside.

Every goal and baseline is quoted from issue 19 ("Speed: ahead of every peer ...") with its unit; a
figure the issue gives as a range ("5.9-11.7 s") keeps both ends. Figures with no goal or baseline in
the issue carry None: the table shows "-" for them, never a number made up here. `name` is what a bench
prints on its `BENCH-JSON` line (`bench.harness.emit`).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    "=": operator.eq,
}


@dataclass(frozen=True)
class Figure:
    """One row of the table. `goal` is (comparison, bound) in `unit`; `baseline` is (low, high), the
    figures the issue states as today's; `ratio_of` makes a figure derived: numerator / denominator."""

    name: str
    label: str
    unit: str
    issue_goal: int | None = None
    goal: tuple[str, float] | None = None
    baseline: tuple[float, float] | None = None
    ratio_of: tuple[str, str] | None = None

    def met(self, value: float) -> bool | None:
        if self.goal is None:
            return None
        comparison, bound = self.goal
        return COMPARE[comparison](value, bound)


MEDIUM_FULL_SYNC_S = 89.5  # "medium (165,612 records) full sync into DuckDB: 89.5 s and 617 MiB"

FIGURES: tuple[Figure, ...] = (
    # goal 1: full sync throughput and memory
    Figure(
        "sync.medium.full.seconds",
        "full sync, medium (165,612 records)",
        "s",
        1,
        ("<=", round(0.35 * MEDIUM_FULL_SYNC_S, 1)),  # "in <= 35% of today's wall time"
        (MEDIUM_FULL_SYNC_S, MEDIUM_FULL_SYNC_S),
    ),
    Figure("sync.medium.full.requests", "  HTTP requests, medium", "requests", 1, None, (192, 192)),
    Figure("sync.medium.peak_mib", "  peak memory, medium sync", "MiB", 1, ("<=", 300), (617, 617)),
    Figure("sync.demo.full.seconds", "full sync, demo (2,075 records)", "s", 1, None, (16.5, 16.5)),
    Figure("sync.demo.full.requests", "  HTTP requests, demo", "requests", 1, None, (32, 32)),
    Figure("sync.demo.peak_mib", "  peak memory, demo sync", "MiB", 1, ("<=", 300), (297, 297)),
    Figure("sync.large.peak_mib", "peak memory, large sync", "MiB", 1, ("<=", 300), (654, 715)),
    Figure(
        "sync.peak_growth",
        "  peak memory large / demo (flat)",
        "x",
        1,
        ("<=", 1.10),  # "flat from demo to large (within 10%)"
        (round(654 / 297, 2), round(715 / 297, 2)),
        ratio_of=("sync.large.peak_mib", "sync.demo.peak_mib"),
    ),
    # goal 2: at QBO's bound under its limits
    Figure(
        "sync.medium.latency.bound_ratio",
        "full sync, medium, QBO latency / bound",
        "x",
        2,
        ("<=", 1.15),  # "<= 1.15 x max(the bound ..., the same sync's wall time with no latency)"
    ),
    Figure("sync.medium.latency.seconds", "  its wall time (1-2 s a request)", "s", 2),
    Figure("sync.medium.latency.requests", "  its HTTP requests", "requests", 2),
    Figure("sync.medium.latency.throttled_429", "  responses of 429 it met", "responses", 2, ("=", 0)),
    Figure("sync.demo.limits.seconds", "full sync, demo, under QBO's limits", "s", 2, None, (17.2, 17.2)),
    Figure("sync.demo.limits.bound_ratio", "  wall time / bound (100-200 ms a request)", "x", 2),
    Figure("sync.demo.limits.throttled_429", "  responses of 429 it met", "responses", 2, ("=", 0)),
    # goal 3: instant where a person waits
    Figure("start.help.seconds", "qbo --help (median)", "s", 3, ("<=", 0.5), (6.7, 6.7)),
    Figure("start.command.seconds", "slowest command's start (median)", "s", 3, ("<=", 0.5)),
    Figure(
        "sync.demo.idle_process.seconds",
        "qbo sync, idle, demo (a process, start-up included)",
        "s",
        3,
        ("<=", 2.0),
        (5.9, 11.7),
    ),
    Figure("sync.demo.idle.seconds", "  the same in process (no start-up)", "s", 3),
    Figure("sync.demo.idle.requests", "  HTTP requests, idle demo", "requests", 3, None, (2, 2)),
    Figure("ask.cli.p50_ms", "qbo ask, p50 of 50 questions", "ms", 3, ("<=", 1000), (8000, 24000)),
    Figure("ask.mcp.p50_ms", "  the same from a running qbo mcp", "ms", 3),
    # goal 4: dbt build and push
    Figure("transform.large.dbt_seconds", "dbt build, large (1M invoices)", "s", 4, ("<=", 50), (71, 71)),
    Figure("transform.demo.dbt_seconds", "dbt build, demo", "s", 4),
    Figure("push.ops_per_min", "push, operations/min", "ops/min", 4, None, (951, 1126)),
    Figure("push.bound_share", "  share of the 1,200/min batch bound", "%", 4, (">=", 90), (79, 94)),
    # goal 5: webhook intake, 10,000 deliveries from 64 connections
    Figure("webhook.sqlite.events_per_s", "webhook intake, SQLite", "events/s", 5, (">=", 1500), (715, 715)),
    Figure("webhook.sqlite.p99_ms", "  p99 response, SQLite", "ms", 5, ("<", 250), (468, 468)),
    Figure(
        "webhook.postgresql.events_per_s",
        "webhook intake, PostgreSQL",
        "events/s",
        5,
        (">=", 1500),
        (512, 512),
    ),
    Figure("webhook.postgresql.p99_ms", "  p99 response, PostgreSQL", "ms", 5, ("<", 250), (678, 678)),
    # not issue 19's: the sandbox the benches run against (its own 100 ms target, no goal here)
    Figure("sandbox.large.worst_page_ms", "sandbox, large: worst median 1,000-row page", "ms"),
)

BY_NAME = {figure.name: figure for figure in FIGURES}
