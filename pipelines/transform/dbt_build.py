"""`qbo transform`: dbt build of dbt_project/ in this process, over the warehouse, with a readable summary.

The warehouse is a DuckDB file, or a PostgreSQL database named by a postgresql:// URL: the same
project builds on both (profiles.yml's `postgres` target; dialect differences in macros/dialect.sql).

Before each run the mapping spec is rendered into the project (a macro dbt reads), and the mastering
overrides and the as-of day are passed as dbt vars, so dbt and Python judge with the same rules. When
dbt returns, its DuckDB handle is closed: dbt-duckdb keeps the file locked for the life of the
process otherwise (dbt-core#11980), and the next loader, report or push needs the file.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

from dbt.adapters.duckdb.connections import DuckDBConnectionManager
from dbt.cli.main import dbtRunner
from dbt.contracts.graph.manifest import Manifest
from dbt_common.events.base_types import EventMsg

from pipelines.mapping.policy import MasteringPolicy
from pipelines.mapping.rendering import render_dbt_macro
from pipelines.runtime.progress import Progress, progress_of
from pipelines.runtime.warehouse import WarehouseAccess
from pipelines.runtime.warehouse_sql import TRANSFORM_LOCK, one_at_a_time
from pipelines.transform.parsed import database_name, fingerprint, manifest_for
from pipelines.transform.publish import land_decisions, publish, publish_review

if TYPE_CHECKING:
    from pipelines.runtime.connector import Connector

DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"
SPEC_MACRO = DBT_PROJECT / "macros" / "generated" / "mapping_spec.sql"
QUIET = {"DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2")


# what a node's status says, in words, per kind of node: "98 models built, 257 tests passed"
NOUNS = {"model": "model", "seed": "seed", "snapshot": "snapshot", "test": "test", "unit_test": "unit test"}
VERBS = {"success": "built", "pass": "passed", "warn": "warned", "fail": "failed", "error": "failed"}
VERBS_OF = {"seed": {"success": "loaded"}, "snapshot": {"success": "taken"}}
KIND_ORDER = ("model", "seed", "snapshot", "test", "unit_test")
STATUS_ORDER = ("success", "pass", "warn", "fail", "error", "skipped")


@dataclass(frozen=True)
class Failure:
    node: str  # model, test or unit test name
    kind: str  # model | test | unit_test | seed | snapshot
    status: str  # error | fail
    message: str
    path: str = ""  # the node's file, from the repository's root: dbt_project/models/...

    def block(self) -> list[str]:
        """The failure in one block: what failed, its file, and the database's (or dbt's) sentence."""
        noun = NOUNS.get(self.kind, self.kind)
        what = "did not build" if self.status == "error" and self.kind != "test" else "failed"
        lines = [f"  {self.status.upper()} {noun} {self.node} {what}"]
        if self.path:
            lines.append(f"    file:  {self.path}")
        lines.append(f"    error: {self.message}")
        return lines


@dataclass
class TransformResult:
    success: bool
    seconds: float
    statuses: dict[str, int] = field(default_factory=dict)  # e.g. {"success": 60, "pass": 200}
    failures: list[Failure] = field(default_factory=list)
    crash: str | None = None
    timings: dict[str, float] = field(default_factory=dict)  # seconds per node
    published: int | None = None  # references published for the gateway (after a whole build)
    in_review: int | None = None  # review entries published for the console and `qbo review`
    kinds: dict[str, dict[str, int]] = field(default_factory=dict)  # {"model": {"success": 98}, ...}

    def in_words(self) -> str:
        """The build's counts as a person says them: "98 models built, 257 tests passed"."""
        said: list[str] = []
        for kind in sorted(self.kinds, key=lambda k: _rank(KIND_ORDER, k)):
            counts = self.kinds[kind]
            noun = NOUNS.get(kind, kind.replace("_", " "))
            verbs = VERBS_OF.get(kind, {})
            for status in sorted(counts, key=lambda s: _rank(STATUS_ORDER, s)):
                n = counts[status]
                verb = verbs.get(status) or VERBS.get(status, status)
                said.append(f"{n:,} {noun}{'' if n == 1 else 's'} {verb}")
        return ", ".join(said) or "nothing run"

    def summary(self) -> str:
        verdict = "passed" if self.success else "FAILED"
        lines = [f"dbt build {verdict} in {self.seconds:.1f} s: {self.in_words()}"]
        if self.crash:
            lines.append(f"  dbt could not run: {self.crash}")
        for failure in self.failures:
            lines += failure.block()
        skipped = self.statuses.get("skipped", 0)
        if self.failures and skipped:
            were = "node after it was" if skipped == 1 else "nodes after it were"
            lines.append(f"  {skipped:,} {were} skipped")
        if self.failures or self.crash:
            what = (
                "the file named above"
                if self.crash and not self.failures
                else "the model (or the data it reads)"
            )
            lines.append(
                f"  fix {what} and run `qbo transform` again; dbt's whole log: dbt_project/logs/dbt.log"
            )
        if self.published is not None:
            lines.append(
                f"published {self.published:,} references (links, list names, defaults) for the gateway"
            )
        if self.in_review is not None:
            where = "`qbo review list`, or /review/ of `qbo serve`"
            lines.append(f"{self.in_review:,} entries wait for review ({where})")
        return "\n".join(lines)


def render_spec() -> bool:
    """Write the spec macro when the spec changed; True when it did."""
    text = render_dbt_macro()
    if SPEC_MACRO.exists() and SPEC_MACRO.read_text(encoding="utf-8") == text:
        return False
    SPEC_MACRO.parent.mkdir(parents=True, exist_ok=True)
    SPEC_MACRO.write_text(text, encoding="utf-8")
    return True


def dbt_vars(policy: MasteringPolicy, as_of: date | None) -> dict[str, object]:
    return {"mastering_overrides": policy.as_dbt_var(), "as_of_date": as_of.isoformat() if as_of else None}


def is_postgres(warehouse: Path | str) -> bool:
    """Whether the warehouse is a PostgreSQL URL (else a DuckDB file)."""
    return isinstance(warehouse, str) and warehouse.split("://", 1)[0].lower() in POSTGRES_SCHEMES


def postgres_profile(url: str) -> dict[str, str]:
    """The environment profiles.yml's `postgres` target reads: server, user and database from the URL.
    The password goes in a DBT_ENV_SECRET_ variable, which dbt keeps out of its logs and artifacts."""
    parts = urlsplit(url)
    dbname = unquote(parts.path.lstrip("/"))
    if not dbname:
        raise ValueError(
            f"warehouse URL {parts.scheme}://{parts.hostname or ''}/ names no database: "
            "add it after the host, e.g. postgresql://user@host:5432/warehouse"
        )
    query = parse_qs(parts.query)
    return {
        "QBO_PG_HOST": parts.hostname or "127.0.0.1",
        "QBO_PG_PORT": str(parts.port or 5432),
        "QBO_PG_USER": unquote(parts.username or "postgres"),
        "DBT_ENV_SECRET_QBO_PG_PASSWORD": unquote(parts.password or ""),
        "QBO_PG_DBNAME": dbname,
        "QBO_PG_SSLMODE": query.get("sslmode", ["prefer"])[0],
    }


def run_dbt(
    warehouse: Path | str,
    *,
    policy: MasteringPolicy,
    as_of: date | None = None,
    command: str = "build",
    select: list[str] | None = None,
    target_path: Path | None = None,
    echo: Callable[[str], None] | None = None,
    project: Path | None = None,
) -> TransformResult:
    """dbt `command` (build by default) over `warehouse`, a DuckDB file or a postgresql:// URL (the
    same project, with profiles.yml's `postgres` target); never raises for model or test failures.
    `project` is dbt_project/ (a test builds a copy of it with a model broken on purpose)."""
    render_spec()
    project = project or DBT_PROJECT
    for key, value in QUIET.items():
        os.environ.setdefault(key, value)
    target: list[str] = []
    profile = postgres_profile(str(warehouse)) if is_postgres(warehouse) else None
    if profile is not None:
        os.environ.update(profile)
        target = ["--target", "postgres"]
    else:
        os.environ["QBO_WAREHOUSE"] = str(Path(warehouse).resolve())
    dbt_vars_json = json.dumps(dbt_vars(policy, as_of))
    common = [
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(project),
        *target,
        "--vars",
        dbt_vars_json,
        "--log-level",  # nothing of dbt's on the terminal: the summary says what failed (dbt.log all)
        "none",
    ]
    if target_path is not None:
        common += ["--target-path", str(target_path)]
    args = [command, *common, *(["--select", *select] if select else [])]
    started = time.perf_counter()
    bar = progress_of(echo)
    key = (str(project), fingerprint(project), *target, database_name(warehouse, profile), dbt_vars_json)
    try:
        manifest = manifest_for(key, lambda: _parse(common))
        outcome = dbtRunner(manifest=manifest, callbacks=[node_progress(bar, f"dbt {command}")]).invoke(args)
    finally:
        release_warehouse()
    seconds = time.perf_counter() - started
    results = getattr(outcome.result, "results", None) or []
    statuses = Counter(str(r.status) for r in results)
    kinds: dict[str, Counter[str]] = {}
    for r in results:
        kinds.setdefault(str(r.node.resource_type), Counter())[str(r.status)] += 1
    failures = [
        Failure(
            r.node.name,
            str(r.node.resource_type),
            str(r.status),
            error_sentence(r.message),
            f"{project.name}/{r.node.original_file_path}" if r.node.original_file_path else "",
        )
        for r in results
        if str(r.status) in ("error", "fail")
    ]
    crash = _first_line(str(outcome.exception)) if outcome.exception else None
    timings = {r.node.name: float(r.execution_time or 0) for r in results}
    result = TransformResult(bool(outcome.success), seconds, dict(statuses), failures, crash, timings)
    result.kinds = {kind: dict(counts) for kind, counts in kinds.items()}
    return result


def _parse(common: list[str]) -> Manifest | None:
    """dbt parse: the Manifest the command then runs without parsing; None if the project does not
    parse (the command parses it again and says why, as without the cache)."""
    outcome = dbtRunner().invoke(["parse", *common])
    return outcome.result if outcome.success and isinstance(outcome.result, Manifest) else None


def node_progress(bar: Progress, task: str) -> Callable[[EventMsg], None]:
    """A dbt callback: each node as it starts, "[41/355] int_drift_invoice" (a line per model, seed or
    snapshot; tests, hundreds of quick ones, at most a line every few seconds off a terminal)."""

    def on_event(event: EventMsg) -> None:
        if event.info.name != "LogStartLine":
            return
        data = event.data
        kind = data.node_info.resource_type
        name = data.node_info.node_name
        building = kind in ("model", "seed", "snapshot")
        current = name if kind == "model" else f"{NOUNS.get(kind, kind)} {name}"
        bar.advance(task, completed=data.index, total=data.total, current=current, always=building)

    return on_event


def error_sentence(message: str | None) -> str:
    """The database's (or dbt's) own sentence from a node's message, without dbt's "Runtime Error in
    model x (path)" preamble: "Binder Error: Referenced column "y" not found ..."."""
    lines = [line.strip() for line in (message or "").splitlines() if line.strip()]
    if len(lines) > 1 and re.match(r"^(Runtime|Database|Compilation) Error in ", lines[0]):
        lines = lines[1:]
    return " ".join(lines[:3])[:500]


def transform(
    connector: Connector,
    *,
    policy: MasteringPolicy,
    as_of: date | None = None,
    select: list[str] | None = None,
    echo: Callable[[str], None] | None = None,
) -> TransformResult:
    """dbt build, then (after a whole, passing build) the references real-time pushes resolve with,
    published to the integration store: the gateway never reads the warehouse. People's standing
    decisions go in first (the build applies them), the review queues come out after."""
    warehouse = connector.settings.warehouse_target
    # DuckDB: a sync of another `qbo` process waits, and is waited for. PostgreSQL: loads go on while
    # dbt builds (read committed: README, "A PostgreSQL warehouse"), and a second transform waits for this one
    with WarehouseAccess(warehouse), one_at_a_time(warehouse, TRANSFORM_LOCK):
        land_decisions(warehouse, connector.store)
        result = run_dbt(warehouse, policy=policy, as_of=as_of, select=select, echo=echo)
        if result.success and not select:
            result.published = publish(warehouse, connector.store)
            result.in_review = publish_review(warehouse, connector.store)
    return result


def release_warehouse() -> None:
    """Close dbt-duckdb's database handle so the warehouse file is free again (see module doc)."""
    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
            DuckDBConnectionManager._ENV = None


def _rank(order: tuple[str, ...], name: str) -> int:
    return order.index(name) if name in order else len(order)


def _first_line(message: str | None) -> str:
    lines = [line.strip() for line in (message or "").splitlines() if line.strip()]
    return " ".join(lines[:3])[:500]
