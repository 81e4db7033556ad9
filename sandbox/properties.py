"""Top-level properties each entity accepts; anything else is fault 2010, as on QBO.

The lists live in properties.json, compiled from the QBO v3 schema as mirrored by python-quickbooks'
object model and from the real payloads in ../shared/samples/qbo. Properties every entity has (Id,
SyncToken, MetaData, ...) are in COMMON. A property missing there that QBO does accept is a sandbox
bug: add it to the file.
"""

from __future__ import annotations

import json
from importlib.resources import files

_DATA = json.loads(files(__package__).joinpath("properties.json").read_text(encoding="utf-8"))

COMMON: frozenset[str] = frozenset(_DATA["common"])
KNOWN: dict[str, frozenset[str]] = {entity: frozenset(names) for entity, names in _DATA["entities"].items()}
