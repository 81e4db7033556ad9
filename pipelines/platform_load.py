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

from pipelines.runtime.warehouse import LOADER_FILE_FORMAT, PLATFORM_DATASET, warehouse_pipeline
from sources.platform import Tally, platform


@dataclass
class PlatformLoad:
    loaded: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    examples: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = []
        for entity in sorted(set(self.loaded) | set(self.rejected)):
            refused = self.rejected.get(entity, 0)
            tail = f", {refused:,} refused" if refused else ""
            out.append(f"  {entity:<10}{self.loaded.get(entity, 0):>10,} loaded{tail}")
        for entity, where, error in self.examples:
            fields = ", ".join(f"{d['field']}: {d['message']}" for d in error["errors"])
            out.append(f"  refused {entity} at {where}: {error['code']} ({fields})")
        return out


def load_platform(
    source: str, *, warehouse: Path, pipelines_dir: Path, realms: Mapping[str, str] | None = None
) -> PlatformLoad:
    """Load every entity file (or table) `source` holds; a refused record never stops the others."""
    tally = Tally()
    pipeline = warehouse_pipeline("platform", warehouse, pipelines_dir, PLATFORM_DATASET)
    if pipeline.has_pending_data:  # an interrupted load first, or its rows would be dropped
        pipeline.load()
    pipeline.run(platform(source, realms or {}, tally), loader_file_format=LOADER_FILE_FORMAT)
    return PlatformLoad(dict(tally.loaded), dict(tally.rejected), list(tally.examples))
