"""A record's page: both sides' fields and lines made comparable, whatever shape the transform wrote.

The transform publishes `{"fields": [{"field", "platform", "qbo", "differs"}...], "lines": {"platform":
[[...]], "qbo": [[...]], "columns": [...]}}`; this reads it defensively (rows as lists or objects, keys
missing, a JSON string) so that a change in the shape shows less, never an error page.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from service.review import format as fmt

MONEY = re.compile(r"amount|total|balance|price|cost|(^|_)amt", re.IGNORECASE)


@dataclass
class FieldRow:
    name: str
    platform: str
    qbo: str
    differs: bool


@dataclass
class Cell:
    text: str
    changed: bool


@dataclass
class Lines:
    columns: list[str]
    platform: list[list[Cell]] = field(default_factory=list)
    qbo: list[list[Cell]] = field(default_factory=list)

    @property
    def changed_cells(self) -> int:
        return sum(c.changed for row in self.platform for c in row)


def _loaded(raw: Any) -> Any:
    if isinstance(raw, str | bytes):
        try:
            return json.loads(raw)
        except ValueError:
            return None
    return raw


def _same(a: Any, b: Any) -> bool:
    """Equal as a person would judge: 240 and 240.00 are the same amount."""
    if a == b:
        return True
    x, y = fmt.decimal_of(a), fmt.decimal_of(b)
    if x is not None and y is not None and not isinstance(a, bool) and not isinstance(b, bool):
        return x == y
    return str(a if a is not None else "").strip() == str(b if b is not None else "").strip()


def fields_of(detail: Any, currency: str | None = None) -> list[FieldRow]:
    detail = _loaded(detail)
    raw = detail.get("fields") if isinstance(detail, dict) else None
    out: list[FieldRow] = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict):
            name, p, q = item.get("field") or item.get("name"), item.get("platform"), item.get("qbo")
            differs = item.get("differs")
        elif isinstance(item, list | tuple) and len(item) >= 3:
            name, p, q = item[0], item[1], item[2]
            differs = item[3] if len(item) > 3 else None
        else:
            continue
        if differs is None:
            differs = not _same(p, q)
        name = str(name or "")
        platform, qbo = _field_text(name, p, currency), _field_text(name, q, currency)
        out.append(FieldRow(fmt.humanize(name), platform, qbo, bool(differs)))
    return out


def _field_text(name: str, value: Any, currency: str | None) -> str:
    """Money fields as money ("$1,234.50"), the rest as they are."""
    if MONEY.search(name) and not isinstance(value, bool) and fmt.decimal_of(value) is not None:
        return fmt.money(value, currency)
    return fmt.value_text(value)


def _rows(raw: Any, columns: list[str]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for row in raw if isinstance(raw, list) else []:
        if isinstance(row, dict):
            rows.append([row.get(c) for c in columns])
        elif isinstance(row, list | tuple):
            rows.append(list(row))
        elif isinstance(row, str):  # the old "1|8||2.0|120.0" form
            rows.append(row.split("|"))
    return rows


def lines_of(detail: Any) -> Lines | None:
    detail = _loaded(detail)
    raw = detail.get("lines") if isinstance(detail, dict) else None
    if not isinstance(raw, dict):
        return None
    columns = [str(c) for c in raw.get("columns") or [] if c is not None]
    if not columns:
        for side in ("platform", "qbo"):
            for row in raw.get(side) or []:
                if isinstance(row, dict):
                    columns += [str(k) for k in row if str(k) not in columns]
    platform, qbo = _rows(raw.get("platform"), columns), _rows(raw.get("qbo"), columns)
    if not platform and not qbo:
        return None
    width = max([len(columns), *(len(r) for r in platform + qbo)])
    columns = [fmt.humanize(c) for c in columns] + [f"Column {i + 1}" for i in range(len(columns), width)]

    places = [_places([r[j] for r in platform + qbo if j < len(r)]) for j in range(width)]
    pairs = _paired(platform, qbo)

    def cells(row: list[Any] | None, twin: list[Any] | None) -> list[Cell]:
        if row is None:  # a line only the other side has
            return [Cell("—" if j == 0 else "", True) for j in range(width)]
        return [
            Cell(
                _cell_text(_at(row, j), places[j]),
                twin is None or not _same(_at(row, j), _at(twin, j)),
            )
            for j in range(width)
        ]

    return Lines(columns, [cells(p, q) for p, q in pairs], [cells(q, p) for p, q in pairs])


def _at(row: list[Any], j: int) -> Any:
    return row[j] if j < len(row) else None


def _paired(platform: list[list[Any]], qbo: list[list[Any]]) -> list[tuple[Any, Any]]:
    """Lines side by side: by their key (the first column, when it is one on both sides), so that a line
    added in the middle marks that line, not every line after it; else by position."""

    def keys(rows: list[list[Any]]) -> list[str] | None:
        found = [str(r[0]) for r in rows if r and r[0] not in (None, "")]
        return found if len(found) == len(rows) == len(set(found)) else None

    pk, qk = keys(platform), keys(qbo)
    if pk is None or qk is None:
        size = max(len(platform), len(qbo))
        return [
            (platform[i] if i < len(platform) else None, qbo[i] if i < len(qbo) else None)
            for i in range(size)
        ]
    by_key = dict(zip(qk, qbo, strict=True))
    pairs: list[tuple[Any, Any]] = [(row, by_key.get(key)) for key, row in zip(pk, platform, strict=True)]
    pairs += [(None, row) for key, row in zip(qk, qbo, strict=True) if key not in set(pk)]
    return pairs


def _places(values: list[Any]) -> int | None:
    """The decimals a column of numbers is shown with (at least 2 when any has a fraction: both sides
    alike, so 2 and 2.000000 read the same); None for a column of ids, counts or text."""
    found: int | None = None
    for value in values:
        if value is None or value == "" or isinstance(value, bool):
            continue
        number = fmt.decimal_of(value)
        if number is None:
            return None
        if "." in str(value):
            decimals = len(f"{number.normalize():f}".partition(".")[2])
            found = max(found or 2, decimals)
    return found


def _cell_text(value: Any, places: int | None) -> str:
    if value is None or value == "":
        return ""
    number = fmt.decimal_of(value) if places is not None and not isinstance(value, bool) else None
    return f"{number:.{places}f}" if number is not None else fmt.value_text(value)


def matches(entry: dict[str, Any], platform_id: str | None, qbo_id: str | None) -> bool:
    """An entry is about this record: the same platform id (or QBO Id when there is none), and no other
    QBO record (a candidate for another match is another page)."""
    if platform_id is not None:
        if entry.get("platform_id") != platform_id:
            return False
        return qbo_id is None or entry.get("qbo_id") in (None, qbo_id)
    return entry.get("platform_id") is None and entry.get("qbo_id") == qbo_id


def history_of(decisions: list[dict[str, Any]], platform_id: str | None, qbo_id: str | None) -> list[Any]:
    """The record's decisions (the store keys a record without a platform id by "" and its QBO Id)."""
    if platform_id is not None:
        return [d for d in decisions if d["platform_id"] == platform_id and d["qbo_id"] in (None, qbo_id)]
    return [d for d in decisions if not d["platform_id"] and d["qbo_id"] == qbo_id]
