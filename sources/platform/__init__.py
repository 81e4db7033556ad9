"""Platform records: the integration DTOs (`dto.py`), the error DTO (`errors.py`), their readers, and the
dlt source that loads them validated (`source.py`: `platform`, `Tally`).

The source is exported here as the dlt verified sources do, but loaded on first use: the DTOs and the
error DTO serve the gateway and `qbo ask`, which must not wait for dlt and pandas.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

SOURCE_NAMES = frozenset(
    {"REJECTED", "REJECTED_HINTS", "MAX_DECIMAL", "DECIMAL_PLACES", "MAX_INTEGER", "Tally", "validate",
     "entity_resource", "platform"}
)  # fmt: skip


def table_name(entity: str) -> str:
    return entity.lower()


def __getattr__(name: str) -> Any:
    if name in SOURCE_NAMES:
        return getattr(import_module("sources.platform.source"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
