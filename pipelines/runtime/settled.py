"""A realm's settled checkpoints: where its last sync left it, with nothing of it left to load.

Most syncs are idle: QBO answers their CDC call and their one batch with nothing. Through dlt such a
sync takes seconds (importing dlt, opening the pipeline, loading the checkpoint it moved); knowing where
the realm is settled, it takes the same two requests and nothing else (issue 19: an idle `qbo sync`
in 2 s). The file says so only while it is true: whatever opens the realm's dlt pipeline forgets it
first (`warehouse.qbo_pipeline`), and a sync writes it once its load has landed with nothing pending.
So a file here means: the warehouse holds every change QBO made up to these checkpoints.

QBO is asked from a little before each checkpoint (settings.CURSOR_OVERLAP_SECONDS), so for a few
minutes after a change an idle sync hears of it again: the file also keeps the versions the last sync
loaded (`seen`), and an answer made only of those is nothing new.

It is trusted for `MAX_AGE` at most: then the sync goes through dlt, which moves the checkpoints
forward (CDC looks back 30 days only: a realm idle for a month must not fall to a re-scan).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pipelines.runtime.warehouse_target import Warehouse, is_postgres, qbo_pipeline_name, warehouse_label
from sources.quickbooks.cursor import iso, parse_time

log = logging.getLogger("qbo.sync")

MAX_AGE = timedelta(hours=24)
MAX_SEEN = 2_000  # versions kept; a run that loaded more keeps none (the next sync goes through dlt once)
MAX_BYTES = 256 * 1024  # the file names each entity once and MAX_SEEN short versions: bigger is not ours


@dataclass(frozen=True)
class Settled:
    checkpoints: dict[str, datetime]
    seen: frozenset[tuple[str, str]]  # (entity, version) the warehouse holds

    def nothing_new(self, answers: Mapping[str, Sequence[dict[str, Any]]]) -> bool:
        """QBO's answers since the checkpoints hold only versions the warehouse already holds."""
        return all((entity, version(doc)) in self.seen for entity, docs in answers.items() for doc in docs)


def version(doc: dict[str, Any]) -> str:
    """One version of a record as QBO answers it: a later edit, delete or void changes one of these."""
    meta = doc.get("MetaData") if isinstance(doc.get("MetaData"), dict) else {}
    return "|".join(
        str(v)[:64]
        for v in (doc.get("Id"), doc.get("SyncToken"), meta.get("LastUpdatedTime"), doc.get("status"))
    )


def settled_path(pipelines_dir: Path, realm_id: str) -> Path:
    """Beside the realm's dlt directory, not in it: dlt owns what is inside."""
    return pipelines_dir / f"{qbo_pipeline_name(realm_id)}.settled.json"


def warehouse_key(warehouse: Warehouse) -> str:
    """The warehouse the checkpoints hold for: a file by its full path, a database by its URL without
    the password."""
    return warehouse_label(warehouse) if is_postgres(warehouse) else str(Path(warehouse).resolve())


def forget(pipelines_dir: Path, realm_id: str) -> None:
    settled_path(pipelines_dir, realm_id).unlink(missing_ok=True)


def record(
    pipelines_dir: Path,
    realm_id: str,
    warehouse: Warehouse,
    checkpoints: Mapping[str, datetime],
    loaded: Mapping[str, Sequence[dict[str, Any]]] | None = None,
) -> None:
    """The realm settled at `checkpoints`, having just loaded `loaded` (QBO's answers of its run).
    Written whole or not at all (a rename): never read half-written."""
    path = settled_path(pipelines_dir, realm_id)
    seen = {e: sorted({version(d) for d in docs}) for e, docs in (loaded or {}).items() if docs}
    if sum(map(len, seen.values())) > MAX_SEEN:
        seen = {}
    body = {
        "warehouse": warehouse_key(warehouse),
        "checkpoints": {e: iso(c) for e, c in checkpoints.items()},
        "seen": seen,
    }
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(body, sort_keys=True))
    partial.replace(path)


def read(
    pipelines_dir: Path, realm_id: str, warehouse: Warehouse, entities: Sequence[str], now: datetime
) -> Settled | None:
    """Where the realm is settled for this warehouse, if every one of `entities` has a checkpoint
    younger than `MAX_AGE`; None sends the sync through dlt. A file that is unreadable, for another
    warehouse, or not in our shape is None too, and said in the log."""
    path = settled_path(pipelines_dir, realm_id)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ValueError(f"bigger than {MAX_BYTES} bytes")
        body = json.loads(path.read_text())
        if body["warehouse"] != warehouse_key(warehouse):
            return None  # another warehouse: what this one holds is for dlt to say
        found = {e: parse_time(body["checkpoints"][e]) for e in entities}
        seen = frozenset(
            (e, v) for e, versions in body["seen"].items() for v in versions if isinstance(v, str)
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("realm %s: ignoring %s (%s); the sync goes through dlt", realm_id, path, exc)
        return None
    if not is_postgres(warehouse) and not Path(warehouse).exists():
        return None  # the warehouse file was removed: dlt decides what to load again
    if any(not now - MAX_AGE < c <= now + timedelta(minutes=5) for c in found.values()):
        return None  # too old to trust (or from a clock far ahead): dlt moves them forward
    return Settled(found, seen)
