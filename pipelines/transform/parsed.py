"""dbt's parse of the project, kept for the life of the process: the next transform skips it.

dbt's own partial parse (target/partial_parse.msgpack) starts over whenever the profile changes, and
the DuckDB profile's `path` is the warehouse file: each new warehouse reparsed the whole project
(3-5 s on 2 cores, a quarter of a demo build). What parsing produces depends only on the project's
files, the vars, the target and the database's name (a node's `database`: the DuckDB file's stem,
the PostgreSQL database), so the Manifest is kept under those and handed to the next dbtRunner,
dbt's documented way to run again without parsing. A served flow, the gateway's process and a test
worker transform many times; a `qbo transform` process parses once, as before.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dbt.contracts.graph.manifest import Manifest

MAX_KEPT = 4  # projects x vars x warehouses in one process; a manifest is tens of MB
# what dbt writes into the project directory as it runs: not part of what it parses
WRITTEN = frozenset({"target", "logs", "dbt_packages", "__pycache__"})
_kept: OrderedDict[tuple[str, ...], Manifest] = OrderedDict()
_lock = threading.Lock()


def fingerprint(project: Path) -> str:
    """The project's files as dbt reads them: each one's path and contents (an edit within the same
    second that keeps the size is an edit too)."""
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(project):
        dirs[:] = sorted(d for d in dirs if d not in WRITTEN and not d.startswith("."))
        for name in sorted(files):
            path = os.path.join(root, name)
            digest.update(os.path.relpath(path, project).encode() + b"\0")
            with open(path, "rb") as f:
                digest.update(hashlib.sha256(f.read()).digest())
    return digest.hexdigest()


def database_name(warehouse: Path | str, postgres: dict[str, str] | None) -> str:
    """The name dbt gives the warehouse's database, as its adapters derive it."""
    if postgres is not None:
        return "|".join(postgres[k] for k in ("QBO_PG_HOST", "QBO_PG_PORT", "QBO_PG_USER", "QBO_PG_DBNAME"))
    return Path(warehouse).stem


def manifest_for(key: tuple[str, ...], parse: Callable[[], Manifest | None]) -> Manifest | None:
    """The kept manifest under `key`, else `parse()`'s (kept when it parsed; None when it did not,
    and the command then parses and reports the project's errors itself)."""
    with _lock:
        if key in _kept:
            _kept.move_to_end(key)
            return _kept[key]
    manifest = parse()
    if manifest is not None:
        with _lock:
            _kept[key] = manifest
            while len(_kept) > MAX_KEPT:
                _kept.popitem(last=False)
    return manifest


def forget() -> None:
    """Parse afresh next time (a test that edits the project in place)."""
    with _lock:
        _kept.clear()
