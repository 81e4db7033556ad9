"""`qbo platform load`: platform records from files or a database into the warehouse, refusals reported.

One dlt pipeline (`platform`) writes dataset `raw_platform`; records that name no realm take their
tenant's connected realm (from the token store). What was loaded and what was refused, and why, comes
back for the command to print.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.runtime.landing import run_locked
from pipelines.runtime.locks import pipeline_run
from pipelines.runtime.warehouse import PLATFORM_DATASET, Warehouse, warehouse_pipeline
from sources.platform import Tally, platform

PIPELINE = "platform"


@dataclass
class PlatformLoad:
    loaded: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    examples: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    unreadable: int = 0  # refusals that were not records at all (not UTF-8, not JSON, too deep, ...)

    @property
    def nothing_readable(self) -> bool:
        """Records were there and not one could be read: the source, not a record, is what is wrong."""
        return self.unreadable > 0 and self.unreadable == sum(self.rejected.values()) and not self.loaded

    def lines(self) -> list[str]:
        out = []
        for entity in sorted(set(self.loaded) | set(self.rejected)):
            refused = self.rejected.get(entity, 0)
            tail = f", {refused:,} refused" if refused else ""
            out.append(f"  {entity:<10}{self.loaded.get(entity, 0):>10,} loaded{tail}")
        for entity, where, error in self.examples:
            fields = ", ".join(f"{d['field']}: {d.get('message', d['issue'])}" for d in error["errors"])
            out.append(f"  refused {entity} at {where}: {error['code']} ({fields})")
        loaded, refused = sum(self.loaded.values()), sum(self.rejected.values())
        out.append(f"{loaded:,} record(s) loaded, {refused:,} refused")
        if refused > len(self.examples):
            out.append(f"  (the first {len(self.examples)} refusals are shown above)")
        return out


def load_platform(
    source: str, *, warehouse: Warehouse, pipelines_dir: Path, realms: Mapping[str, str] | None = None
) -> PlatformLoad:
    """Load every entity file (or table) `source` holds; a refused record never stops the others: each is
    a row of `rejected` with where it was read (file:line, table:row) and the error DTO."""
    tally = Tally()
    with pipeline_run(pipelines_dir, PIPELINE):  # an interrupted load is finished first, under the locks
        pipeline = warehouse_pipeline(PIPELINE, warehouse, pipelines_dir, PLATFORM_DATASET)
        run_locked(pipeline, platform(source, realms or {}, tally), warehouse)
    return PlatformLoad(dict(tally.loaded), dict(tally.rejected), list(tally.examples), tally.unreadable)
