"""A page of QBO documents as Arrow tables, one per warehouse table, as dlt's normaliser would make them.

Why (issue 19): dlt normalises nested dicts row by row (flatten, coerce, hash, write), and a medium
first sync spent more time there than in everything else. Arrow tables skip that step: dlt moves their
parquet files as they are. So a big page's documents are typed as `normalise` types them and
flattened here, in one pass, into the tables dlt's relational normaliser would have produced from the
rows `normalise` makes:
- the same table and column names (the schema's naming, `__` between fragments, the same shortening);
- the same nesting: objects flattened into columns, lists of objects into child tables, up to the
  source's `max_table_nesting`; scalars in a list as `value` rows;
- the same keys: a random `_dlt_id` per record, child rows keyed by dlt's hash of (parent, table,
  position), `_dlt_parent_id`, `_dlt_list_idx`, and the record's id as `_dlt_root_id`, which the merge
  uses to replace a record's child rows;
- the same types: each column's type is the one dlt infers from its Python values.

Anything dlt would decide differently from the types alone is left to dlt: a page holding a value kept
as JSON (nested deeper than `max_table_nesting`), a list of lists, a column whose values mix types, a
type that differs from the schema's or from an earlier page's, or a new text column dlt's type
detection would read as something else, is handed to dlt as rows (`normalised`). Such pages are rare
in QBO's data, and what dlt does with them is what it did before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from itertools import chain
from typing import Any

import pyarrow as pa
from dlt.common.data_types.type_helpers import _COERCE_DISPATCH, coerce_value
from dlt.common.normalizers.json import helpers
from dlt.common.normalizers.json.helpers import get_nested_row_hash
from dlt.common.normalizers.utils import generate_dlt_ids
from dlt.common.schema import Schema
from dlt.common.schema.utils import autodetect_sc_type, get_root_table
from dlt.common.time import normalize_timezone
from dlt.extract.extract import Extract

from sources.quickbooks.cursor import parse_time
from sources.quickbooks.extract import (
    DATE_KEYS,
    DELETED,
    DELETED_AT,
    Flagged,
    deletion,
    last_updated,
    normalised,
    plain_scalar,
)

ROW_ID, PARENT_ID, ROOT_ID, LIST_IDX, LOAD_ID = (
    "_dlt_id",
    "_dlt_parent_id",
    "_dlt_root_id",
    "_dlt_list_idx",
    "_dlt_load_id",
)
VALUE = "value"  # the column of a list's scalars
_META, _TIMES = "meta_data", ("CreateTime", "LastUpdatedTime")  # MetaData's times, as UTC datetimes
EMPTY_KEY = "_empty"

_TEXT = {"data_type": "text", "nullable": False}
ROOT_KEYS: dict[str, dict[str, Any]] = {
    ROW_ID: {**_TEXT, "row_key": True, "unique": True},
    LOAD_ID: _TEXT,
}
CHILD_KEYS: dict[str, dict[str, Any]] = {
    ROW_ID: {**_TEXT, "row_key": True, "unique": True},
    PARENT_ID: {**_TEXT, "parent_key": True},
    ROOT_ID: {**_TEXT, "root_key": True},
    LIST_IDX: {"data_type": "bigint", "nullable": False},
}

# dlt's type of a Python value, and the Arrow type its parquet writer gives that type
_TYPES: dict[type, tuple[str, pa.DataType]] = {
    str: ("text", pa.string()),
    bool: ("bool", pa.bool_()),
    int: ("bigint", pa.int64()),
    Decimal: ("decimal", pa.decimal128(38, 9)),
    date: ("date", pa.date32()),
    datetime: ("timestamp", pa.timestamp("us", tz="UTC")),
}

_ARROW = dict(_TYPES.values())
_NONE = type(None)


class Unsupported(Exception):
    """Something dlt would decide from more than the values' types: the page goes to dlt as dicts."""


Rows = dict[str, list[dict[str, Any]]]  # table -> flat rows, in dlt's order


@dataclass(frozen=True, slots=True)
class _Key:
    """A document key under one path of one table, as dlt names it."""

    name: str  # the key's identifier
    column: str  # its column: the path's identifiers and its own, joined
    table: str  # its child table's fragment, if it holds a list
    as_json: bool  # the schema keeps it as JSON
    time: bool  # one of the record's MetaData times: its text is read as a UTC datetime
    plain: bool  # neither that nor a key `normalise` reads dates from: its text is kept as it is


class Tables(list[tuple[str, pa.Table]]):
    """A page as (table, Arrow table) pairs, parents before their children."""


class Columnar:
    """One entity's pages of QBO documents as Arrow tables (a `Shape`, extract.py), typed as `normalise`
    types them, in one pass. `known(table)` gives a table's column types as the schema has them (empty
    for a table it lacks); the types of this run's pages are remembered on top."""

    def __init__(
        self,
        schema: Schema,
        root: str,
        max_nesting: int,
        load_id: str,
        known: Callable[[str], dict[str, str]],
        required: frozenset[str] = frozenset(),
    ) -> None:
        self.schema = schema
        self.naming = schema.naming
        self.detections = schema.settings.get("detections") or []
        self.preferred = schema.get_preferred_type
        self.root = self.naming.normalize_table_identifier(root)
        self.max_nesting = max_nesting
        self.load_id = load_id
        self._known = known
        # columns the hints make NOT NULL (their Arrow fields say so too, or dlt warns of each table)
        self._required = {self.root: required | ROOT_KEYS.keys()}
        self._types: dict[str, dict[str, str]] = {}  # table -> column -> dlt type, as loaded this run
        self._keys: dict[tuple[str, tuple[str, ...]], dict[str, _Key]] = {}  # by (table, path), by key
        self._joined: dict[tuple[str, ...], str] = {}
        self.parents: dict[str, str] = {}  # child table -> its parent table
        self._realm_id = ""

    @staticmethod
    def made(item: Any) -> bool:
        """Whether a page went as Arrow tables (`Tables`), not as rows."""
        return isinstance(item, Tables)

    def __call__(self, entity: str, docs: list[dict[str, Any]], realm_id: str) -> tuple[Any, int]:
        """The page as `Tables`; or, when dlt must decide (see above), as `normalised` rows."""
        self._realm_id = realm_id
        flagged = 0
        try:
            try:
                flat = self._flatten_page(docs)
            except Flagged:  # rare: the page again, each record as `normalise` flags it
                rows, flagged = normalised(entity, docs, realm_id)
                flat = self._flatten_page(rows)
            typed = {table: self._columns(table, found) for table, found in flat.items()}
        except Unsupported:
            return normalised(entity, docs, realm_id)
        out = Tables()
        for table, found in flat.items():
            columns = typed[table]
            required = self._required.get(table, CHILD_KEYS.keys())
            arrow_schema = pa.schema([pa.field(c, a, c not in required) for c, (_, a) in columns.items()])
            arrow = pa.Table.from_pylist(found, schema=arrow_schema)
            if table == self.root and any(  # a key missing where the hints want one: dlt says which
                c not in columns or arrow.column(c).null_count for c in required
            ):
                return normalised(entity, docs, realm_id)
            out.append((table, arrow))
        for table, columns in typed.items():  # the run's types, for the pages after it
            self._types.setdefault(table, {}).update({c: t for c, (t, _) in columns.items()})
        return out, flagged

    # flattening, as dlt's relational normaliser does (dlt/common/normalizers/json/relational.py) ----
    def _flatten_page(self, docs: list[dict[str, Any]]) -> Rows:
        """Documents (or rows `normalise` made of them: typing them again changes nothing) as each
        table's flat rows; Flagged at a value only `normalise` can hold."""
        out: Rows = {self.root: []}
        ids = generate_dlt_ids(len(docs))
        for doc, row_id in zip(docs, ids, strict=True):
            self._row(out, self._record(doc), self.root, (self.root,), row_id, None, None, self.max_nesting)
        return out

    def _record(self, doc: dict[str, Any]) -> dict[str, Any]:
        """A deleted record as `normalise` marks it (MetaData's times are read in `_flatten`)."""
        if doc.get("status") == "Deleted":
            return deletion(doc["Id"], self._realm_id, last_updated(doc))
        return doc

    def _row(
        self,
        out: Rows,
        row: dict[str, Any],
        table: str,
        path: tuple[str, ...],
        row_id: str,
        parent_id: str | None,
        root_id: str | None,
        level: int,
        position: int = 0,
    ) -> None:
        """A row of `table` (named by the fragments `path`), then its lists' rows."""
        flat, lists = self._flatten(table, row, level)
        flat["realm_id"] = self._realm_id  # every warehouse row carries its realm
        if root_id is None:  # the record itself, with what `normalise` adds to it
            flat.setdefault(DELETED, False)
            flat.setdefault(DELETED_AT, None)
            flat[LOAD_ID] = self.load_id
            root_id = row_id
        else:
            flat[ROOT_ID] = root_id
            flat[PARENT_ID] = parent_id
            flat[LIST_IDX] = position
        flat[ROW_ID] = row_id
        out.setdefault(table, []).append(flat)
        for fragments, (key, items) in lists.items():
            child_path = path + fragments
            child = self._table(*child_path)
            self.parents.setdefault(child, table)
            self._list(out, key, items, child, child_path, row_id, root_id, level - 1)

    def _list(
        self,
        out: Rows,
        key: str,
        items: list[Any],
        table: str,
        path: tuple[str, ...],
        parent_id: str,
        root_id: str,
        level: int,
    ) -> None:
        for position, item in enumerate(items):
            child_id = get_nested_row_hash(parent_id, table, position)
            kind = type(item)
            if kind is dict:
                self._row(out, item, table, path, child_id, parent_id, root_id, level, position)
            elif kind is list:
                raise Unsupported(f"{table} holds a list of lists")
            else:
                out.setdefault(table, []).append(
                    {
                        VALUE: plain_scalar(key, item),
                        ROOT_ID: root_id,
                        PARENT_ID: parent_id,
                        LIST_IDX: position,
                        ROW_ID: child_id,
                    }
                )

    def _flatten(
        self, table: str, row: dict[str, Any], level: int
    ) -> tuple[dict[str, Any], dict[tuple[str, ...], tuple[str, list[Any]]]]:
        """An object's columns (nested objects joined with `__`, values typed) and its lists (under
        their key), in dlt's order."""
        flat: dict[str, Any] = {}
        lists: dict[tuple[str, ...], tuple[str, list[Any]]] = {}
        stack: list[tuple[dict[str, Any], int, tuple[str, ...]]] = [(row, level, ())]
        while stack:
            node, depth, path = stack.pop()
            keys = self._keys.get((table, path))
            if keys is None:
                keys = self._keys[(table, path)] = {}
            for key, value in node.items():
                entry = keys.get(key)
                if entry is None:
                    entry = keys[key] = self._key(table, path, key)
                kind = type(value)
                if kind is str and entry.plain:  # most values: as they are
                    flat[entry.column] = value
                elif kind is str and entry.time:  # MetaData's CreateTime, LastUpdatedTime: UTC datetimes
                    flat[entry.column] = parse_time(value)
                elif kind is dict or kind is list:
                    if depth <= 0 or entry.as_json:
                        raise Unsupported(f"{table}.{entry.column} is kept as JSON")
                    if kind is dict:
                        stack.append((value, depth - 1, (*path, entry.name)))
                    else:
                        lists[(*path, entry.table)] = (key, value)
                elif value is not None:  # a null says no more than an absent key (normalise drops it)
                    flat[entry.column] = plain_scalar(key, value)
        return flat, lists

    def _key(self, table: str, path: tuple[str, ...], key: str) -> _Key:
        if key and not key.isspace():
            name = helpers.normalize_identifier(self.schema, self.naming, key)
        else:
            name = EMPTY_KEY
        column = self._table(*path, name) if path else name
        time = table == self.root and path == (_META,) and key in _TIMES
        return _Key(
            name=name,
            column=column,
            table=helpers.normalize_table_identifier(self.schema, self.naming, key),
            as_json=helpers.is_nested_type(self.schema, table, column, 1),
            time=time,
            plain=not (time or key in DATE_KEYS),
        )

    def _table(self, *fragments: str) -> str:
        joined = self._joined.get(fragments)
        if joined is None:
            joined = self._joined[fragments] = self.naming.shorten_fragments(*fragments)
        return joined

    # types -----------------------------------------------------------------------------------------
    def _columns(self, table: str, rows: list[dict[str, Any]]) -> dict[str, tuple[str, pa.DataType]]:
        """Each column's dlt and Arrow type, in order of first appearance, its values coerced in place
        as dlt would (a text column dlt detects as a timestamp, a value into the schema's type);
        Unsupported where dlt would do more (a column of several types, a value it cannot coerce)."""
        kinds: dict[str, type] = dict.fromkeys(chain.from_iterable(rows), _NONE)  # in order of appearance
        for column, kind in {(c, type(v)) for row in rows for c, v in row.items()}:
            seen = kinds[column]
            if kind is not seen and kind is not _NONE:
                if seen is not _NONE:
                    raise Unsupported(f"{table}.{column} holds {seen.__name__} and {kind.__name__}")
                kinds[column] = kind
        known = {**self._known(table), **self._types.get(table, {})}
        out = {}
        for column, kind in kinds.items():
            held = known.get(column)
            if kind is _NONE:  # only nulls: a column dlt does not know yet is not made
                if held is not None:
                    out[column] = (held, _ARROW[held])
                continue
            if kind not in _TYPES:
                raise Unsupported(f"{table}.{column}: {kind.__name__}")
            data_type = _TYPES[kind][0]
            if held is None:  # dlt types a new column by its first value
                first = next(row[column] for row in rows if row.get(column) is not None)
                held = self.preferred(column) or autodetect_sc_type(self.detections, kind, first) or data_type
            if held != data_type:
                _coerce(rows, table, column, held, data_type)
            if held not in _ARROW:
                raise Unsupported(f"{table}.{column} is {held}")
            out[column] = (held, _ARROW[held])
        return out


def _coerce(rows: list[dict[str, Any]], table: str, column: str, to_type: str, from_type: str) -> None:
    """The column's values as dlt's normaliser coerces them into `to_type`, in place."""
    if (to_type, from_type) not in _COERCE_DISPATCH:
        raise Unsupported(f"{table}.{column}: {from_type} into {to_type}")
    try:
        for row in rows:
            value = row.get(column)
            if value is not None:
                value = coerce_value(to_type, from_type, value)  # type: ignore[arg-type]
                # in UTC, as dlt writes it (Arrow would drop the offset of dlt's parsed datetime)
                row[column] = normalize_timezone(value, True) if to_type == "timestamp" else value
    except (ValueError, SyntaxError) as exc:  # dlt would make a variant column
        raise Unsupported(f"{table}.{column}: {exc}") from exc


def schema_types(schema: Schema) -> Callable[[str], dict[str, str]]:
    """`known` for `Columnar`: a table's column types as `schema` has them now."""

    def known(table: str) -> dict[str, str]:
        columns = schema.tables.get(table, {}).get("columns", {})
        return {name: column["data_type"] for name, column in columns.items() if "data_type" in column}

    return known


def _count_child_tables_under_their_root() -> None:
    """dlt 1.31 sums an extract's rows per resource through each table's `resource`, which a child
    table never has (dlt refuses one that does): a child table written by the extract step, as Arrow
    tables are, failed every extract with KeyError 'resource'. Its rows count under its root's."""
    compute = Extract._compute_metrics
    if getattr(compute, "counts_child_tables", False):
        return

    def _compute_metrics(self: Extract, load_id: str, source: Any) -> Any:
        schema = source.schema
        get_table = schema.get_table

        def with_resource(name: str) -> Any:
            table = get_table(name)
            return table if "resource" in table else get_root_table(schema.tables, name)

        schema.get_table = with_resource
        try:
            return compute(self, load_id, source)
        finally:
            del schema.get_table

    _compute_metrics.counts_child_tables = True  # type: ignore[attr-defined]
    Extract._compute_metrics = _compute_metrics  # type: ignore[method-assign]


_count_child_tables_under_their_root()
