"""The JSON schemas of the platform DTOs, emitted from the pydantic models and committed beside them:
the contract the platform's engineers read, and a test that fails when a model drifts from it. The
bounds of each number are in them (`exclusiveMaximum`, `minimum`, a `pattern` for its string form)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sources.platform.dto import MODELS, QBO_MASTERED

SCHEMAS = Path(__file__).with_name("schemas")
CONTRACT = {**MODELS, **QBO_MASTERED}


def schema(entity: str) -> dict[str, Any]:
    """The schema of what the platform sends (validation mode), or of what it is sent (serialization
    mode: the QBO-mastered entities it only reads), under the spec's `$id`."""
    model = CONTRACT[entity]
    mode = "validation" if entity in MODELS else "serialization"
    body = model.model_json_schema(by_alias=True, mode=mode)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": model.schema_id, **body}


def write_schemas(out: Path = SCHEMAS) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for entity in CONTRACT:
        path = out / f"{entity}.schema.json"
        path.write_text(json.dumps(schema(entity), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        paths.append(path)
    return paths
