"""Where platform records come from: files (JSONL, Parquet, CSV) in a folder, or a SQL database.

Every reader yields `(where, raw)` pairs: `where` says where a record was read (file and line, or
table and row) so a refused record can be found, and `raw` is the record as the platform wrote it,
not yet validated. One file or table per entity, named after it: `customers.jsonl`, `invoice.parquet`,
table `payments`, ... CSV and SQL hold nested fields (lines, addresses) as JSON text, or as dotted
columns (`billingAddress.city`).

Every record is bounded where it enters (DESIGN decision 17), and a record past a bound is refused
alone, at its file and line, while the reader goes on: a line that is not UTF-8, a JSONL line over
`MAX_LINE_BYTES`, a CSV field over `MAX_FIELD_BYTES` (the csv module's limit is set to that bound, never
unbounded), JSON nested deeper than `MAX_DEPTH`, a row with more cells than its header, and a row that
fills both `a` and `a.b` (a dotted column would overwrite the other's value: which one is meant is the
platform's to say, so that row is refused naming both columns; rows filling only one of them load).
"""

from __future__ import annotations

import contextlib
import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pyarrow.parquet as pq
from sqlalchemy import MetaData, Table, create_engine, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from sources.nesting import MAX_DEPTH, too_deep
from sources.platform.dto import MODELS

SUFFIXES = (".jsonl", ".ndjson", ".parquet", ".csv")
MAX_LINE_BYTES = 8 * 1024 * 1024  # one JSONL record: an invoice of thousands of lines fits
MAX_FIELD_CHARS = 1024 * 1024  # one CSV cell (and the csv module's limit while reading: never unbounded)
Raw = tuple[str, Any]

if csv.field_size_limit() < MAX_FIELD_CHARS:
    csv.field_size_limit(MAX_FIELD_CHARS)


class SourceError(ValueError):
    """The platform source cannot be read at all (missing folder, unknown URL, no entity files)."""


class ColumnClash(ValueError):
    """Two columns write one field (`a` and `a.b`): which value is meant is the platform's to say."""

    def __init__(self, first: str, second: str) -> None:
        shared = min(first, second, key=len)
        super().__init__(f"columns {first!r} and {second!r} both set {shared!r}: fill only one of them")
        self.field = second


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
    """The file's records; a file that cannot be opened or breaks off is one refusal, not an abort."""
    suffix = path.suffix.lower()
    readers = {".jsonl": _jsonl, ".ndjson": _jsonl, ".parquet": _parquet, ".csv": _csv}
    if suffix not in readers:
        raise SourceError(f"{path}: unsupported file type {suffix}; use one of {', '.join(SUFFIXES)}")
    try:
        yield from readers[suffix](path)
    except (OSError, ValueError) as exc:  # pyarrow's errors are both; the records read so far stand
        yield path.name, _Unreadable(f"the file cannot be read further: {exc}", issue="unreadable_file")


def _jsonl(path: Path) -> Iterator[Raw]:
    with path.open("rb") as handle:
        number = 0
        while line := handle.readline(MAX_LINE_BYTES + 1):
            number += 1
            where = f"{path.name}:{number}"
            if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
                _skip_line(handle)
                limit = f"{MAX_LINE_BYTES // (1024 * 1024)} MiB"
                yield where, _Unreadable(f"line longer than {limit}: split the record", issue="too_long")
                continue
            if not line.strip():
                continue
            try:
                text = line.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                yield where, _not_utf8(line[exc.start], exc.start + 1)
                continue
            yield where, _json(text)


def _skip_line(handle: IO[bytes]) -> None:
    while (chunk := handle.readline(MAX_LINE_BYTES)) and not chunk.endswith(b"\n"):
        pass


def _json(text: str) -> Any:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return _Unreadable(f"not JSON: {exc.msg} at column {exc.colno}", issue="not_json")
    except RecursionError:
        return _too_deep()
    return bounded(value)


def _parquet(path: Path) -> Iterator[Raw]:
    number = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=10_000):
        for row in batch.to_pylist():
            number += 1
            yield f"{path.name}:row {number}", bounded(_drop_nulls(row))


class _Lines:
    """The physical lines the csv reader pulls, counted, with the quotes of the record being read: after
    a row the csv module refuses, the rest of its quoted field is skipped, never read as rows."""

    def __init__(self, handle: IO[str]) -> None:
        self.handle = handle
        self.number = 0
        self.quotes = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self.handle)
        self.number += 1
        self.quotes += line.count('"')
        return line

    def skip_open_field(self) -> None:
        with contextlib.suppress(StopIteration):
            while self.quotes % 2:
                next(self)


def _csv(path: Path) -> Iterator[Raw]:
    # surrogateescape: a byte that is not UTF-8 is kept as a marker, and its row alone is refused
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
        lines = _Lines(handle)
        reader = csv.reader(lines)
        try:
            header = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield f"{path.name}:1", _Unreadable(f"the header is not CSV: {exc}", issue="not_csv")
            return
        problem = _header_problem(header)
        if problem is not None:
            yield f"{path.name}:1", problem
            return
        while True:
            lines.quotes = 0
            where = f"{path.name}:{lines.number + 1}"
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                lines.skip_open_field()
                if "field limit" in str(exc):  # the csv module's own words for a cell over the limit
                    limit = f"{MAX_FIELD_CHARS // (1024 * 1024)} MiB"
                    yield where, _Unreadable(f"a cell is longer than {limit}", issue="too_long")
                else:
                    yield where, _Unreadable(f"not CSV: {exc}", issue="not_csv")
                continue
            if cells:
                yield where, _csv_record(header, cells)


def _header_problem(header: list[str]) -> _Unreadable | None:
    """A header the file's rows cannot be read by: every row would be misread, so the file is refused."""
    seen: set[str] = set()
    for column in header:
        if not _is_text(column):
            return _Unreadable("the header is not UTF-8: save the file as UTF-8", column, "not_utf8")
        if column in seen:
            return _Unreadable(f"column {column!r} appears twice in the header", column, "duplicate")
        seen.add(column)
    return None


def _csv_record(header: list[str], cells: list[str]) -> Any:
    if len(cells) > len(header):
        return _Unreadable(
            f"the row has {len(cells)} cells, the header {len(header)} columns: quote cells holding commas",
            issue="extra_cells",
        )
    row: dict[str, Any] = {}
    for column, value in zip(header, cells, strict=False):
        if len(value) > MAX_FIELD_CHARS:
            limit = f"{MAX_FIELD_CHARS // (1024 * 1024)} MiB"
            return _Unreadable(f"the cell is longer than {limit}", column, "too_long")
        if not _is_text(value):
            bad = next(c for c in value if "\udc80" <= c <= "\udcff")
            return _not_utf8(ord(bad) - 0xDC00, value.index(bad) + 1, column)
        if value != "":
            row[column] = value
    try:
        return bounded(unflatten(row))
    except ColumnClash as exc:
        return _Unreadable(str(exc), exc.field, "ambiguous")
    except RecursionError:
        return _too_deep()


def _is_text(value: str) -> bool:
    return value.isascii() or not any("\udc80" <= c <= "\udcff" for c in value)


def read_table(url: str, entity: str) -> Iterator[Raw] | None:
    """The rows of the entity's table in the database at `url`, or None when it has none."""
    try:
        engine = create_engine(url)
    except (SQLAlchemyError, ValueError) as exc:
        raise SourceError(f"the platform database URL cannot be used: {exc}") from None
    try:
        names = set(inspect(engine).get_table_names())
        table_name = next((n for n in entity_names(entity) if n in names), None)
        if table_name is None:
            return None
        table = Table(table_name, MetaData(), autoload_with=engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        cause = getattr(exc, "orig", None) or exc
        raise SourceError(f"cannot read the platform database: {type(cause).__name__}: {cause}") from None
    except Exception:
        engine.dispose()
        raise

    def rows() -> Iterator[Raw]:
        number = 0
        try:
            with engine.connect() as conn:
                result = conn.execution_options(stream_results=True, yield_per=5_000).execute(select(table))
                for number, row in enumerate(result.mappings(), start=1):
                    yield f"{table_name}:row {number}", _table_record(dict(row))
        except SQLAlchemyError as exc:  # a row the driver cannot decode: the rows before it stand
            cause = getattr(exc, "orig", None) or exc
            reason = f"the table cannot be read past row {number}: {type(cause).__name__}: {cause}"
            yield f"{table_name}:row {number + 1}", _Unreadable(reason, issue="unreadable_table")
        finally:
            engine.dispose()

    return rows()


def _table_record(row: dict[str, Any]) -> Any:
    try:
        return bounded(unflatten(_drop_nulls(row)))
    except ColumnClash as exc:
        return _Unreadable(str(exc), exc.field, "ambiguous")
    except RecursionError:
        return _too_deep()


class _Unreadable:
    """A line that is not a record at all; validation reports it like any other refusal."""

    def __init__(self, reason: str, field: str | None = None, issue: str = "unreadable") -> None:
        self.reason = reason
        self.field = field
        self.issue = issue


def _not_utf8(byte: int, column: int, field: str | None = None) -> _Unreadable:
    where = f"byte 0x{byte:02x} at {'character' if field else 'byte'} {column}"
    return _Unreadable(f"not UTF-8 ({where}): save the file as UTF-8", field, "not_utf8")


def _too_deep() -> _Unreadable:
    return _Unreadable(f"nested deeper than {MAX_DEPTH} levels: a platform record is flat", issue="too_deep")


def unreadable_reason(raw: Any) -> str | None:
    return raw.reason if isinstance(raw, _Unreadable) else None


def unreadable_detail(raw: Any) -> tuple[str | None, str]:
    """(field, issue) of an unreadable record: the column it was found in, if one."""
    return (raw.field, raw.issue) if isinstance(raw, _Unreadable) else (None, "unreadable")


def bounded(value: Any) -> Any:
    """The value, or a refusal when it nests deeper than MAX_DEPTH (dlt, pydantic and the warehouse's
    JSON would recurse that deep)."""
    return _too_deep() if too_deep(value) else value


def _drop_nulls(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if v is not None}


def unflatten(row: dict[str, Any]) -> dict[str, Any]:
    """Dotted columns become nested objects; JSON text in a column becomes the object it encodes.

    Raises ColumnClash when two columns set one field (`a` and `a.b`, or `a` as JSON and `a.b`)."""
    out: dict[str, Any] = {}
    made: dict[tuple[str, ...], str] = {}  # objects dotted columns made -> the first such column
    owner: dict[tuple[str, ...], str] = {}  # every path set -> the column that set it
    for key, raw in row.items():
        value = raw
        if isinstance(raw, str) and raw[:1] in "[{":
            with contextlib.suppress(json.JSONDecodeError):
                value = json.loads(raw)
        node = out
        *parents, leaf = key.split(".")
        path: tuple[str, ...] = ()
        for part in parents:
            path += (part,)
            child = node.get(part)
            if child is None:
                child = node[part] = {}
                made[path] = owner[path] = key
            elif not isinstance(child, dict) or path not in made:
                raise ColumnClash(owner[path], key)
            node = child
        if leaf in node:
            raise ColumnClash(owner[(*path, leaf)], key)
        node[leaf] = value
        owner[(*path, leaf)] = key
    return out
