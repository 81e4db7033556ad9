"""How one realm's entities are read: full scans, CDC increments, targeted fetches, deletes.

The cost model (issues 3 and 19): a first run reads every entity whole (scan.py): the first pages of
up to 30 entities share one batch call, and an entity with more goes on by cursor, about
ceil(rows/1000) requests plus a closing short page per cursor, several cursors at once. A later run
asks CDC once for every CDC entity and sends one batch of queries for the rest, so an idle run costs
2 requests per realm. CDC answers are capped at 1000
objects: a capped answer is narrowed entity by entity, each window starting where the last
change received happened. A realm not swept for 30 days is re-scanned, and ids the warehouse has
that QBO no longer returns are marked deleted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

from sources.quickbooks import errors, settings
from sources.quickbooks.catalog import ENTITIES, EntitySpec
from sources.quickbooks.client import QboClient
from sources.quickbooks.cursor import cursor_pages, iso, parse_time, select
from sources.quickbooks.query_text import quote
from sources.quickbooks.scan import Scan

log = logging.getLogger("qbo.extract")

DATE_KEYS = frozenset(
    {
        "TxnDate",
        "DueDate",
        "ShipDate",
        "InvStartDate",
        "StartDate",
        "EndDate",
        "ExpirationDate",
        "AcceptedDate",
        "BirthDate",
        "HiredDate",
        "ReleasedDate",
        "OpenBalanceDate",
        "CompanyStartDate",
        "BookCloseDate",
        "EffectiveDate",
        "ServiceDate",
    }
)
INTEGER_KEYS = frozenset(
    {
        "LineNum",
        "Level",
        "DueDays",
        "DiscountDays",
        "DayOfMonthDue",
        "DueNextMonthDays",
        "DiscountDayOfMonth",
        "Size",
        "Hours",
        "Minutes",
        "BreakHours",
        "BreakMinutes",
        "FiscalYearStartMonth",
        "startPosition",
        "maxResults",
        "totalCount",
    }
)
DELETED = "_deleted"
DELETED_AT = "_deleted_at"
# The warehouse holds what dlt writes: decimals as decimal(38, 9) (dlt's defaults, no column narrows
# them) and integers as bigint. A number QBO holds beyond that fails the parquet load of the whole
# realm ("Rescaling Decimal value would cause data loss"), run after run: QBO's data is not ours to
# refuse, so such a value is loaded as the nearest the warehouse holds and the record is flagged.
EXTREME = "_extreme_values"  # "Line[0].SalesItemLineDetail.UnitPrice=1E-30; ...": paths and originals
DECIMAL_PRECISION, DECIMAL_SCALE = 38, 9
_QUANTUM = Decimal(f"1E-{DECIMAL_SCALE}")
_LARGEST = Decimal("9" * (DECIMAL_PRECISION - DECIMAL_SCALE) + "." + "9" * DECIMAL_SCALE)  # exact
_LOWEST = _LARGEST.copy_negate()
_BIGINT = (-(2**63), 2**63 - 1)
_WHOLE = 10 ** (DECIMAL_PRECISION - DECIMAL_SCALE)  # the smallest integer decimal(38, 9) cannot hold
_FLAGS_SHOWN = 20  # a record with thousands of extreme lines still gets a readable flag


def normalise(entity: str, doc: dict[str, Any], realm_id: str) -> dict[str, Any]:
    """A QBO document as a warehouse row: realm_id, UTC timestamps, dates, decimals, delete marks."""
    if doc.get("status") == "Deleted":
        return deletion(doc["Id"], realm_id, last_updated(doc))
    flags: list[str] = []
    try:
        row = _plain_object(doc, realm_id, stamp=False)
    except Flagged:  # rare: again, keeping the path and original of each value it cannot hold
        row = _typed_object(doc, "", flags)
        _stamp_children(row, realm_id)
    meta = row.get("MetaData")
    if isinstance(meta, dict):
        for key in ("CreateTime", "LastUpdatedTime"):
            if isinstance(meta.get(key), str):
                meta[key] = parse_time(meta[key])
    row["realm_id"] = realm_id
    row[DELETED] = False
    row[DELETED_AT] = None
    if flags:
        more = len(flags) - _FLAGS_SHOWN
        row[EXTREME] = "; ".join(flags[:_FLAGS_SHOWN]) + (f"; and {more} more" if more > 0 else "")
    return row


# a page of QBO documents -> what the resource yields, and how many records hold a flagged value
Shape = Callable[[str, list[dict[str, Any]], str], tuple[Any, int]]


def normalised(entity: str, docs: list[dict[str, Any]], realm_id: str) -> tuple[list[dict[str, Any]], int]:
    """The default `Shape`: each document as a warehouse row."""
    rows = [normalise(entity, doc, realm_id) for doc in docs]
    return rows, sum(1 for row in rows if EXTREME in row)


def deletion(
    entity_id: str, realm_id: str, when: datetime | None, merged_into: str | None = None
) -> dict[str, Any]:
    """The row that marks a record deleted: keys, the flag and the time (the content is gone from QBO)."""
    row: dict[str, Any] = {
        "Id": str(entity_id),
        "realm_id": realm_id,
        DELETED: True,
        DELETED_AT: when or datetime.now(UTC),
    }
    if when is not None:
        row["MetaData"] = {"LastUpdatedTime": when}
    if merged_into:
        row["_merged_into"] = merged_into
    return row


class Flagged(Exception):
    """A value the warehouse cannot hold as QBO sent it: the record goes the way that names it."""


def _plain_object(node: dict[str, Any], realm_id: str, stamp: bool) -> dict[str, Any]:
    """`_typed_object` and `_stamp_children` in one pass, without the paths only a flag needs: a
    full sync types a few million values, and building a path for each was a fifth of its time."""
    typed: dict[str, Any] = {}
    for key, value in node.items():
        if value is not None:
            typed[key] = _plain(key, value, realm_id)
    if stamp:
        typed["realm_id"] = realm_id
    return typed


def _plain(key: str, value: Any, realm_id: str) -> Any:
    kind = type(value)
    if kind is dict:
        return _plain_object(value, realm_id, stamp=False)
    if kind is list:
        return [
            _plain_object(item, realm_id, stamp=True) if type(item) is dict else _plain_item(key, item)
            for item in value
        ]
    return plain_scalar(key, value)


def plain_scalar(key: str, value: Any) -> Any:
    """A JSON scalar as `normalise` types it; Flagged if the warehouse cannot hold it as it is."""
    kind = type(value)
    if kind is str:
        if key in DATE_KEYS and len(value) == 10:
            try:
                return date.fromisoformat(value)
            except ValueError:
                return value
        return value
    if kind is bool:
        return value
    if kind is int:
        return _plain_int(key, value)
    if kind is Decimal:
        return _plain_decimal(key, value)
    return _plain_item(key, value)


def _plain_int(key: str, value: int) -> int | Decimal:
    """`_number` of an integer the warehouse holds as it is (nearly all of them), without building a
    Decimal twice and a flag list: a full sync types millions; any other goes the way that flags it."""
    if key in INTEGER_KEYS:
        if _BIGINT[0] <= value <= _BIGINT[1]:
            return value
    elif -_WHOLE < value < _WHOLE:
        return Decimal(value)
    return _plain_item(key, value)


def _plain_decimal(key: str, value: Decimal) -> Any:
    """`_number` of a decimal the warehouse holds as it is (finite, in range, at most 9 places)."""
    if key not in INTEGER_KEYS and value.is_finite() and _LOWEST <= value <= _LARGEST:
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent >= -DECIMAL_SCALE:
            return value
    return _plain_item(key, value)


def _plain_item(key: str, item: Any) -> Any:
    """A number, or a list's element that is not an object: typed as `_typed` does (objects in a list
    inside a list are not stamped, as before)."""
    flags: list[str] = []
    typed = _typed(key, item, key, flags)
    if flags:
        raise Flagged
    return typed


def _stamp_children(node: dict[str, Any], realm_id: str) -> None:
    """Put realm_id on every element of every array: they become child tables, and every warehouse row
    carries its realm (DESIGN decision 1), not only the parents."""
    for value in node.values():
        if isinstance(value, dict):
            _stamp_children(value, realm_id)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    item["realm_id"] = realm_id
                    _stamp_children(item, realm_id)


def last_updated(doc: dict[str, Any]) -> datetime | None:
    value = (doc.get("MetaData") or {}).get("LastUpdatedTime")
    return parse_time(value) if isinstance(value, str) else None


def _typed_object(node: dict[str, Any], path: str, flags: list[str]) -> dict[str, Any]:
    """A JSON object's typed members; a null says no more than an absent key, and makes dlt warn of
    empty columns, so nulls (and numbers the warehouse cannot hold at all) are left out."""
    typed = {}
    for key, value in node.items():
        if value is not None:
            item = _typed(key, value, f"{path}.{key}" if path else key, flags)
            if item is not None:
                typed[key] = item
    return typed


def _typed(key: str, value: Any, path: str, flags: list[str]) -> Any:
    if isinstance(value, dict):
        return _typed_object(value, path, flags)
    if isinstance(value, list):
        return [_typed(key, item, f"{path}[{n}]", flags) for n, item in enumerate(value)]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float | Decimal):
        return _number(key, value, path, flags)
    if key in DATE_KEYS and isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    return value


def _number(key: str, value: int | float | Decimal, path: str, flags: list[str]) -> int | Decimal | None:
    """A JSON number as the warehouse can hold it: integer keys as bigint, the rest as decimal(38, 9).

    A value it cannot hold exactly is rounded to 9 places or clamped to the largest it holds, and a
    non-finite one (NaN, Infinity) is left out; `flags` gets `path=original` for each."""
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    if not number.is_finite():
        flags.append(f"{path}={number}")
        return None
    if key in INTEGER_KEYS and number == number.to_integral_value():
        whole = int(number)
        if not _BIGINT[0] <= whole <= _BIGINT[1]:
            flags.append(f"{path}={number}")
            whole = max(_BIGINT[0], min(_BIGINT[1], whole))
        return whole
    if not _LOWEST <= number <= _LARGEST:  # exactly: abs() or a minus would round to 28 digits first
        flags.append(f"{path}={number}")
        return _LARGEST.copy_sign(number)
    exponent = number.as_tuple().exponent  # an int: the number is finite
    if isinstance(exponent, int) and exponent >= -DECIMAL_SCALE:
        return number
    with localcontext() as context:  # |number| <= _LARGEST: rounding to 9 places stays within it, exactly
        context.prec = DECIMAL_PRECISION
        held = number.quantize(_QUANTUM, rounding=ROUND_HALF_EVEN)
    if held != number:
        flags.append(f"{path}={number}")
    return held


def fetch_ids(client: QboClient, spec: EntitySpec, ids: Iterable[str]) -> tuple[list[dict], set[str]]:
    """Exactly these records (targeted fetch, e.g. for webhooks); and the ids QBO no longer has."""
    wanted = sorted({str(i) for i in ids}, key=lambda v: (len(v), v))
    found: list[dict] = []
    for start in range(0, len(wanted), settings.MAX_RESULTS):
        chunk = wanted[start : start + settings.MAX_RESULTS]
        id_list = ", ".join(quote(i) for i in chunk)
        text = f"{select(spec, [f'Id IN ({id_list})'])} MAXRESULTS {settings.MAX_RESULTS}"
        found.extend(client.query(text).get(spec.name) or [])
    return found, set(wanted) - {doc["Id"] for doc in found}


def cdc_changes(client: QboClient, entities: list[str], since: datetime) -> tuple[dict[str, list[dict]], str]:
    """Everything CDC reports for `entities` since `since`, narrowing windows when an answer is capped.

    Returns the newest version of each object per entity and the server time of the first answer.
    """
    found, server_time = client.cdc(entities, iso(since))
    if sum(len(v) for v in found.values()) < settings.CDC_MAX_OBJECTS:
        return found, server_time
    narrowed: dict[str, list[dict]] = {}
    for entity in entities:
        newest: dict[str, dict] = {}
        window = since
        while True:
            part = client.cdc([entity], iso(window))[0][entity]
            for doc in part:
                if doc["Id"] not in newest or _lut(doc) >= _lut(newest[doc["Id"]]):
                    newest[doc["Id"]] = doc
            if len(part) < settings.CDC_MAX_OBJECTS:
                break
            last = max(_lut(doc) for doc in part)
            if last <= window:
                raise CdcWindowTooNarrow(entity, window)
            window = last
        narrowed[entity] = list(newest.values())
    return narrowed, server_time


def _lut(doc: dict[str, Any]) -> datetime:
    return parse_time(doc["MetaData"]["LastUpdatedTime"])


class CdcWindowTooNarrow(RuntimeError):
    """More than 1000 changes of one entity in one second: CDC cannot be narrowed further."""

    def __init__(self, entity: str, at: datetime) -> None:
        super().__init__(f"{entity}: over {settings.CDC_MAX_OBJECTS} changes at {iso(at)}; re-scanning it")
        self.entity = entity


@dataclass
class EntityState:
    checkpoint: datetime | None  # server time at the start of the last successful run


@dataclass
class Extraction:
    """One realm's run, shared by the entity resources: plans once, fetches lazily, counts.

    `existing_ids(entity)` reads the live ids the warehouse holds; it is only called on a re-scan,
    to find the deletions CDC can no longer tell about.
    """

    client: QboClient
    realm_id: str
    entities: list[str]
    state: dict[str, EntityState]
    full_refresh: bool = False
    existing_ids: Callable[[str], set[str]] | None = None
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # (entity, rows read so far, finished): every page of a cursor scan, and once at the end of a long one
    progress: Callable[[str, int, bool], None] | None = None
    workers: int = settings.MAX_IN_FLIGHT  # requests in flight for the full scans (scan.py); 1: page by page
    _incremental: dict[str, list[dict]] | None = None
    _scan: Scan | None = None
    _run_started: datetime | None = None

    @property
    def run_started(self) -> datetime | None:
        return self._run_started

    @property
    def changes(self) -> dict[str, list[dict]]:
        """QBO's answers to the run's CDC call and batch (nothing before they are asked, or for a scan)."""
        return self._incremental or {}

    def mode(self, entity: str) -> str:
        checkpoint = self.state.get(entity, EntityState(None)).checkpoint
        if self.full_refresh or checkpoint is None:
            return "rescan" if self.full_refresh else "full"
        if self.now() - checkpoint > timedelta(days=settings.CDC_SAFETY_DAYS):
            return "rescan"
        return "incremental"

    def rows(self, entity: str) -> Iterator[dict[str, Any]]:
        for page in self.pages(entity):
            yield from page

    def pages(self, entity: str, shape: Shape | None = None) -> Iterator[Any]:
        """The entity's warehouse rows a page at a time: dlt takes a list as one item, and its cost per
        item was a tenth of a full sync's extract step. `shape` makes a page of QBO documents into what
        the resource yields (default: `normalised`, a list of rows)."""
        try:
            yield from self._pages(entity, shape or normalised)
        except errors.QboError as exc:
            exc.entity = exc.entity or entity  # the error table says which entity failed
            raise
        flagged = self.counts.get(f"{entity}:extreme", 0)
        if flagged:
            note = (
                f"realm {self.realm_id} {entity}: {flagged} record(s) hold numbers the warehouse cannot "
                f"hold exactly; loaded rounded or clamped, originals in the {EXTREME} column"
            )
            log.warning(note)
            self.notes.append(note)

    def _pages(self, entity: str, shape: Shape) -> Iterator[Any]:
        mode = self.mode(entity)
        if mode == "incremental":
            changed = self.incremental_docs()[entity]
            if changed:
                yield self._emit(entity, changed, shape)
            return
        if mode == "rescan" and not self.full_refresh:
            days = (self.now() - self.state[entity].checkpoint).days  # type: ignore[operator]
            note = (
                f"realm {self.realm_id} {entity}: last sweep {days} days ago, beyond CDC's "
                f"{settings.CDC_LOOKBACK_DAYS}-day window; re-scanning to find deletes"
            )
            log.warning(note)
            self.notes.append(note)
        rescan = mode == "rescan" and self.existing_ids is not None
        seen: set[str] = set()  # ids are only kept when a re-scan must compare them with the warehouse
        read = 0
        scan = self._full_scan()
        for page in scan.pages(entity):
            self._mark_start(scan.started)
            read += len(page)
            if rescan:
                seen.update(doc["Id"] for doc in page)
            yield self._emit(entity, page, shape)
            if self.progress:
                self.progress(entity, read, False)
        self._mark_start(scan.started)
        if self.progress and read >= 10 * settings.MAX_RESULTS:
            self.progress(entity, read, True)
        if rescan and self.existing_ids is not None:
            gone = self.existing_ids(entity) - seen
            if gone:
                yield [deletion(entity_id, self.realm_id, None) for entity_id in sorted(gone)]
            self.counts[f"{entity}:deleted"] = len(gone)

    def _emit(self, entity: str, docs: list[dict], shape: Shape) -> Any:
        item, flagged = shape(entity, docs, self.realm_id)
        self.counts[entity] = self.counts.get(entity, 0) + len(docs)
        if flagged:
            self.counts[f"{entity}:extreme"] = self.counts.get(f"{entity}:extreme", 0) + flagged
        return item

    def _mark_start(self, at: datetime | None = None) -> None:
        """The run's checkpoint is QBO's clock at its first answer (no client clock involved)."""
        if self._run_started is None:
            server = self.client.last_server_time
            self._run_started = at or (parse_time(server) if server else self.now())

    def _full_scan(self) -> Scan:
        """One scan for every entity read whole this run, so their first pages share batch calls."""
        if self._scan is None:
            whole = [e for e in self.entities if self.mode(e) != "incremental"]
            self._scan = Scan(self.client, whole, workers=self.workers, batch=self.workers > 1)
        return self._scan

    def close(self) -> None:
        """Stop the scan's workers (a run that failed elsewhere does not need their pages)."""
        if self._scan is not None:
            self._scan.close()

    def incremental_docs(self) -> dict[str, list[dict]]:
        """One CDC call for every CDC entity due, one batch of queries for the others: the records
        changed since each entity's checkpoint (asked once; an idle sync asks nothing else)."""
        if self._incremental is not None:
            return self._incremental
        due = [e for e in self.entities if self.mode(e) == "incremental"]
        overlap = timedelta(seconds=settings.CURSOR_OVERLAP_SECONDS)
        since = {e: self.state[e].checkpoint - overlap for e in due}  # type: ignore[operator]
        result: dict[str, list[dict]] = {e: [] for e in due}
        cdc_entities = [e for e in due if ENTITIES[e].cdc]
        if cdc_entities:
            start = min(since[e] for e in cdc_entities)
            try:
                found, _ = cdc_changes(self.client, cdc_entities, start)
                self._mark_start()
                result.update(found)
            except CdcWindowTooNarrow as exc:
                self.notes.append(str(exc))
                found_rest = {
                    e: [d for page in cursor_pages(self.client, ENTITIES[e], since[e]) for d in page]
                    for e in cdc_entities
                }
                self._mark_start()
                result.update(found_rest)
        others = [e for e in due if not ENTITIES[e].cdc]
        for start in range(0, len(others), settings.MAX_BATCH_ITEMS):
            chunk = others[start : start + settings.MAX_BATCH_ITEMS]
            items = [
                {
                    "bId": str(n),
                    "Query": f"{select(ENTITIES[e], [_since(since[e])])} "
                    f"ORDERBY MetaData.LastUpdatedTime MAXRESULTS {settings.MAX_RESULTS}",
                }
                for n, e in enumerate(chunk)
            ]
            answers = {a["bId"]: a for a in self.client.batch(items)}
            self._mark_start()
            for answer in answers.values():
                fault = errors.parse_fault(answer)
                if fault is not None:
                    raise fault
            for n, entity in enumerate(chunk):
                rows = (answers.get(str(n), {}).get("QueryResponse") or {}).get(entity) or []
                if len(rows) >= settings.MAX_RESULTS:  # more than a page changed: page the rest by cursor
                    rows = [
                        d for page in cursor_pages(self.client, ENTITIES[entity], since[entity]) for d in page
                    ]
                result[entity] = rows
        self._incremental = result
        return result


def _since(moment: datetime) -> str:
    return f"MetaData.LastUpdatedTime >= '{iso(moment)}'"
