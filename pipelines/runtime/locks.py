"""Advisory locks across processes: one run per realm pipeline, one writer per DuckDB warehouse file.

dlt keeps a pipeline's packages in one working directory, so two runs of a realm at once delete each
other's files ("No such file ... load/new/..."); DuckDB lets one process open the file for writing.
Prefect's `qbo-warehouse-writer` limit orders flow runs only; these locks also order `qbo` commands,
cron jobs and flow runs of any process. A lock is a `flock` on a file beside what it guards: the kernel
frees it when its holder dies, so a killed run never leaves it stuck. The holder writes who it is into
the file, so a run that waited too long says which process, command and since when holds it.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.runtime.config_values import lookup
from pipelines.runtime.settings import ConfigError
from sources.platform.errors import detail, error_dto
from sources.quickbooks.errors import redact

WAIT_KEY = "sources.quickbooks.lock_wait_seconds"
WAIT_ENV = "SOURCES__QUICKBOOKS__LOCK_WAIT_SECONDS"
DEFAULT_WAIT_SECONDS = 600.0  # a realm's sync or a big merge can take minutes: wait that long, not forever
POLL_SECONDS = 0.2


def lock_wait_seconds() -> float:
    """How long a run waits for a lock another run holds (config key or environment), in seconds."""
    try:
        raw = lookup(WAIT_KEY)
    except Exception:
        raw = None
    if raw in (None, ""):
        return DEFAULT_WAIT_SECONDS
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = -1.0
    if value < 0:
        raise ConfigError(f"{WAIT_KEY} (env {WAIT_ENV}) must be a number of seconds >= 0, got {raw!r}")
    return value


def _command() -> str:
    """This process's command line, shortened and without passwords in URLs or token-like strings."""
    text = " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv and sys.argv[0] else sys.executable
    text = re.sub(r"(://[^/:@\s]*):[^@/\s]*@", r"\1:***@", text)
    return redact(text)[:200]


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, as the holder wrote it."""

    pid: int | None
    command: str
    host: str
    since: str

    @classmethod
    def read(cls, path: Path) -> Holder | None:
        try:
            data: Any = json.loads(path.read_text(encoding="utf-8") or "null")
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict):
            return None
        pid, command, host, since = (data.get(k, "?") for k in ("pid", "command", "host", "since"))
        return cls(pid if isinstance(pid, int) else None, str(command), str(host), str(since))

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host} (`{self.command}`), since {self.since}"


class LockBusy(RuntimeError):
    """Another run held the lock for longer than this one would wait; the message names the holder."""

    code = "RUN_BUSY"

    def __init__(self, what: str, path: Path, holder: Holder | None, waited: float) -> None:
        who = holder.describe() if holder else "another run (it has not said who yet)"
        super().__init__(
            f"{what} is busy: {who} holds the lock {path}; waited {waited:.0f} s. Let that run finish "
            f"and run again, or wait longer with {WAIT_KEY} (env {WAIT_ENV})"
        )
        self.what, self.path, self.holder, self.waited = what, path, holder, waited

    def to_dto(self) -> dict[str, Any]:
        return error_dto(self.code, str(self), [detail(self.what.split(" ")[0], "busy", str(self.path))])


class _Shared:
    """One lock file in this process: threads queue on `mutex`; the first takes the flock."""

    def __init__(self) -> None:
        self.mutex = threading.RLock()
        self.depth = 0
        self.fd: int | None = None


_SHARED: dict[Path, _Shared] = {}
_SHARED_GUARD = threading.Lock()


def _shared(path: Path) -> _Shared:
    with _SHARED_GUARD:
        return _SHARED.setdefault(path, _Shared())


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextmanager
def hold(path: Path, what: str, wait: float | None = None) -> Iterator[None]:
    """Hold the lock file `path` (guarding `what`, as a person names it), waiting up to `wait` seconds
    (default: `lock_wait_seconds()`); raises `LockBusy` naming the holder. Re-entrant in a thread."""
    path = path.absolute()
    budget = lock_wait_seconds() if wait is None else wait
    started = time.monotonic()
    shared = _shared(path)
    got = shared.mutex.acquire(timeout=budget) if budget > 0 else shared.mutex.acquire(blocking=False)
    if not got:
        raise LockBusy(what, path, Holder.read(path), time.monotonic() - started)
    try:
        if shared.depth == 0:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            while not _try_flock(fd):
                if time.monotonic() - started >= budget:
                    os.close(fd)
                    raise LockBusy(what, path, Holder.read(path), time.monotonic() - started)
                time.sleep(POLL_SECONDS)
            me = {
                "pid": os.getpid(),
                "command": _command(),
                "host": socket.gethostname(),
                "since": datetime.now(UTC).isoformat(timespec="seconds"),
                "what": what,
            }
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(me).encode(), 0)
            shared.fd = fd
        shared.depth += 1
        try:
            yield
        finally:
            shared.depth -= 1
            if shared.depth == 0 and shared.fd is not None:
                fd, shared.fd = shared.fd, None
                try:
                    os.ftruncate(fd, 0)
                finally:
                    os.close(fd)  # closing releases the flock
    finally:
        shared.mutex.release()


def realm_lock_path(pipelines_dir: Path, pipeline_name: str) -> Path:
    """Beside the pipeline's working directory (dlt lists directories only, so it never sees it)."""
    return pipelines_dir / f"{pipeline_name}.lock"


def warehouse_lock_path(warehouse: Path) -> Path:
    """A DuckDB file's writer lock. A PostgreSQL warehouse has none: the lock follows the engine, and
    `WarehouseAccess` takes it only for a file."""
    return warehouse.with_name(f"{warehouse.name}.lock")


def pipeline_run(pipelines_dir: Path, pipeline_name: str, wait: float | None = None) -> Any:
    """The lock on one dlt pipeline's working directory, for a whole run of it."""
    return hold(realm_lock_path(pipelines_dir, pipeline_name), f"pipeline {pipeline_name}", wait)
