"""Where platform records come from: files (JSONL, Parquet, CSV) in a folder, or a SQL database.

Every reader yields `(where, raw)` pairs: `where` says where a record was read (file and line, or
table and row) so a refused record can be found, and `raw` is the record as the platform wrote it,
not yet validated. One file or table per entity, named after it: `customers.jsonl`, `invoice.parquet`,
table `payments`, ... CSV and SQL hold nested fields (lines, addresses) as JSON text, or as dotted
columns (`billingAddress.city`).
"""

from __future__ import annotations

import contextlib
import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from sqlalchemy import MetaData, Table, create_engine, inspect, select

from sources.platform.dto import MODELS

SUFFIXES = (".jsonl", ".ndjson", ".parquet", ".csv")
Raw = tuple[str, Any]


class SourceError(ValueError):
    """The platform source cannot be read at all (missing folder, unknown URL, no entity files)."""


def is_database_url(source: str) -> bool:
    return "://" in source and not source.startswith("file://")


def entity_names(entity: str) -> tuple[str, ...]:
    """The file stems and table names an entity may have: invoices, invoice, Invoice."""
    lower = entity.lower()
    return (f"{lower}s", lower, entity)


def files_by_entity(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        raise SourceError(f"platform source {folder} is not a folder; give a folder of entity files or a URL")
    found: dict[str, Path] = {}
    for entity in MODELS:
        for stem in entity_names(entity):
            for suffix in SUFFIXES:
                path = folder / f"{stem}{suffix}"
                if path.is_file() and entity not in found:
                    found[entity] = path
    if not found:
        expected = ", ".join(f"{entity_names(e)[0]}.jsonl" for e in MODELS)
        raise SourceError(f"no platform entity files in {folder}; expected some of: {expected}")
    return found


def read_file(path: Path) -> Iterator[Raw]:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        yield from _jsonl(path)
    elif suffix == ".parquet":
        yield from _parquet(path)
    elif suffix == ".csv":
        yield from _csv(path)
    else:
        raise SourceError(f"{path}: unsupported file type {suffix}; use one of {', '.join(SUFFIXES)}")


def _jsonl(path: Path) -> Iterator[Raw]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            where = f"{path.name}:{number}"
            try:
                yield where, json.loads(line)
            except json.JSONDecodeError as exc:
                yield where, _Unreadable(f"not JSON: {exc.msg} at column {exc.colno}")


def _parquet(path: Path) -> Iterator[Raw]:
    number = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=10_000):
        for row in batch.to_pylist():
            number += 1
            yield f"{path.name}:row {number}", _drop_nulls(row)


def _csv(path: Path) -> Iterator[Raw]:
    with path.open(encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=2):
            yield f"{path.name}:{number}", unflatten({k: v for k, v in row.items() if v not in ("", None)})


def read_table(url: str, entity: str) -> Iterator[Raw] | None:
    """The rows of the entity's table in the database at `url`, or None when it has none."""
    engine = create_engine(url)
    try:
        names = set(inspect(engine).get_table_names())
        table_name = next((n for n in entity_names(entity) if n in names), None)
        if table_name is None:
            return None
        table = Table(table_name, MetaData(), autoload_with=engine)
    except Exception:
        engine.dispose()
        raise

    def rows() -> Iterator[Raw]:
        try:
            with engine.connect() as conn:
                result = conn.execution_options(stream_results=True, yield_per=5_000).execute(select(table))
                for number, row in enumerate(result.mappings(), start=1):
                    yield f"{table_name}:row {number}", unflatten(_drop_nulls(dict(row)))
        finally:
            engine.dispose()

    return rows()


class _Unreadable:
    """A line that is not a record at all; validation reports it like any other refusal."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def unreadable_reason(raw: Any) -> str | None:
    return raw.reason if isinstance(raw, _Unreadable) else None


def _drop_nulls(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if v is not None}


def unflatten(row: dict[str, Any]) -> dict[str, Any]:
    """Dotted columns become nested objects; JSON text in a column becomes the object it encodes."""
    out: dict[str, Any] = {}
    for key, raw in row.items():
        value = raw
        if isinstance(raw, str) and raw[:1] in "[{":
            with contextlib.suppress(json.JSONDecodeError):
                value = json.loads(raw)
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out
