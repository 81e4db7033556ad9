"""The dlt source for platform records: integration DTOs from files or a database, validated.

Every record is checked against its DTO (`dto.py`). A valid one lands in its entity's table, merged
on (tenant_id, id), nested lines as child tables (`invoice__lines`); an invalid one lands in
`rejected` with the seed's error DTO naming each bad field, where it was read, and the record as
sent. Refusals never stop the valid records, and a refused record that is fixed loads on the next run
(dbt's staging then stops reporting the old refusal). A record without `updatedAt` (the DTOs require
it of customers only) lands as changed at the load's time, the one time of every record it read.

Whatever a record holds, it is refused alone: a line the readers cannot read (`readers.py`: not UTF-8,
too long, too deep, ambiguous columns), a value the DTO's own checks trip over, and a number the
warehouse cannot store (DECIMAL(38, 9), BIGINT) are each a row in `rejected`, never a failed load.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import dlt
from dlt.extract.resource import DltResource
from pydantic import ValidationError
from pydantic.alias_generators import to_camel

from sources.platform import readers, table_name
from sources.platform.dto import MODELS, PlatformRecord, contract_error
from sources.platform.errors import detail, error_dto

REJECTED = "rejected"
REJECTED_HINTS = dlt.mark.make_hints(
    table_name=REJECTED,
    primary_key=["entity", "record_key"],
    write_disposition="merge",
    columns={
        "errors": {"data_type": "json"},
        # typed up front: a load whose only refusals are unreadable lines still makes these columns
        "record": {"data_type": "text"},
        "record_id": {"data_type": "text"},
        "tenant_id": {"data_type": "text"},
        "rejected_at": {"data_type": "timestamp"},
    },
)


# what the warehouse stores (dlt's DECIMAL(38, 9) and BIGINT, on DuckDB and PostgreSQL alike)
MAX_DECIMAL = Decimal(10) ** 29
DECIMAL_PLACES = 9
MAX_INTEGER = 2**63


class Tally:
    """What a load read: valid and refused records per entity."""

    def __init__(self) -> None:
        self.loaded: dict[str, int] = {}
        self.rejected: dict[str, int] = {}
        self.unreadable = 0  # refused before they could be read as records at all (not JSON, not UTF-8)
        self.examples: list[tuple[str, str, dict[str, Any]]] = []  # (entity, where, error DTO), a few

    def count(self, entity: str, ok: bool) -> None:
        bucket = self.loaded if ok else self.rejected
        bucket[entity] = bucket.get(entity, 0) + 1


def validate(
    entity: str,
    where: str,
    raw: Any,
    realms: Mapping[str, str],
    loaded_at: datetime | None = None,
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(row, None) for a valid record, (None, rejected row) for one the contract refuses; a row without
    `updated_at` takes `loaded_at` (default: now)."""
    model = MODELS[entity]
    reason = readers.unreadable_reason(raw)
    if reason is not None:
        field, issue = readers.unreadable_detail(raw)
        return None, _rejection(entity, where, None, _dto("PLATFORM_RECORD_UNREADABLE", reason, field, issue))
    try:
        record = model.model_validate(raw)
    except ValidationError as exc:
        return None, _rejection(entity, where, raw, contract_error(entity, exc))
    except (ArithmeticError, ValueError, TypeError, RecursionError) as exc:  # a check the DTO did not expect
        field = _largest_number(raw) if isinstance(exc, ArithmeticError) else None
        message = f"{entity} record refused: {field or 'a value'} is not of the contract's type ({exc!r})"
        return None, _rejection(entity, where, raw, _dto("PLATFORM_VALIDATION_FAILED", message, field))
    row = _row(record)
    unstorable = [(_camel(path), why) for path, why in _out_of_range(row)]
    if unstorable:
        message = (
            f"{entity} record refused: {len(unstorable)} number(s) beyond what the warehouse stores "
            f"(at most 29 digits before the point and {DECIMAL_PLACES} after); fix them in the platform"
        )
        details = [detail(path, "out_of_range", why) for path, why in unstorable]
        return None, _rejection(entity, where, raw, error_dto("PLATFORM_VALIDATION_FAILED", message, details))
    row.setdefault("updated_at", loaded_at or datetime.now(UTC))
    if row.get("realm_id") is None:
        realm = realms.get(record.tenant_id)
        if realm is None:
            message = (
                f"tenant {record.tenant_id!r} has no connected QBO company and the record names no "
                "realmId; connect the tenant with `qbo connect` or set realmId"
            )
            return None, _rejection(
                entity, where, raw, _dto("PLATFORM_TENANT_NOT_CONNECTED", message, "tenantId")
            )
        row["realm_id"] = realm
    for value in row.values():  # child rows (lines) carry the tenant and realm too (DESIGN decision 1)
        if isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    item.update(tenant_id=row["tenant_id"], realm_id=row["realm_id"])
    return row, None


def _out_of_range(value: Any) -> Iterator[tuple[str, str]]:
    """(field path, why) of each number the warehouse cannot store: not finite, too large, too precise."""
    for path, number in _numbers(value):
        if isinstance(number, int):
            if abs(number) >= MAX_INTEGER:
                yield path, "is larger than a 64-bit integer"
        elif _magnitude(number).is_infinite():
            yield path, "is not a finite number"
        elif _magnitude(number) >= MAX_DECIMAL:
            yield path, "has more than 29 digits before the decimal point"
        elif isinstance(number, Decimal) and int(number.as_tuple().exponent) < -DECIMAL_PLACES:
            yield path, f"has more than {DECIMAL_PLACES} decimal places"


def _numbers(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _numbers(child, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for n, child in enumerate(value):
            yield from _numbers(child, f"{path}[{n}]")
    elif isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        yield path, value


def _largest_number(raw: Any) -> str | None:
    """The field a decimal fault is most likely about: the largest number, or one that is not finite."""
    found = [(_magnitude(v), p) for p, v in _numbers(raw)]
    return max(found)[1] if found else None


def _magnitude(number: float | Decimal) -> Decimal:
    """|number| exactly; infinite for NaN and infinity."""
    if isinstance(number, Decimal):
        return abs(number) if number.is_finite() else Decimal("Infinity")
    return abs(Decimal(number)) if isinstance(number, int) or math.isfinite(number) else Decimal("Infinity")


def _camel(path: str) -> str:
    """`lines[0].unit_price` (a row's python names) -> `lines[0].unitPrice` (as the platform wrote it)."""
    return ".".join(to_camel(part) for part in path.split("."))


def _row(record: PlatformRecord) -> dict[str, Any]:
    """The warehouse row: python field names (dlt snake-cases and nests them), values as typed, no
    nulls (dlt makes a column when a value arrives; staging supplies the missing ones)."""
    return _without_nulls(record.model_dump(mode="python", by_alias=False))


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _dto(code: str, message: str, field: str | None = None, issue: str = "invalid") -> dict[str, Any]:
    return error_dto(code, message, [detail(field, issue, message)])


def _rejection(entity: str, where: str, raw: Any, error: dict[str, Any]) -> dict[str, Any]:
    record = raw if isinstance(raw, dict) else None
    tenant = str(record.get("tenantId")) if record and record.get("tenantId") is not None else None
    record_id = str(record.get("id")) if record and record.get("id") is not None else None
    key = f"{tenant}/{record_id}" if tenant and record_id else f"@{where}"
    return {
        "entity": entity,
        "record_key": key,
        "tenant_id": tenant,
        "record_id": record_id,
        "source": where,
        "code": error["code"],
        "message": error["message"],
        "errors": error["details"],
        "record": json.dumps(raw, default=str, ensure_ascii=False) if record is not None else None,
        "rejected_at": datetime.now(UTC),
    }


def entity_resource(
    entity: str,
    raws: Callable[[], Iterable[readers.Raw]],
    realms: Mapping[str, str],
    tally: Tally,
    loaded_at: datetime | None = None,
) -> DltResource:
    loaded_at = loaded_at or datetime.now(UTC)

    def rows() -> Iterator[Any]:
        for where, raw in raws():
            row, rejected = validate(entity, where, raw, realms, loaded_at)
            tally.count(entity, row is not None)
            if readers.unreadable_reason(raw) is not None:
                tally.unreadable += 1
            if row is not None:
                yield row
            else:
                assert rejected is not None
                if len(tally.examples) < 20:
                    tally.examples.append((entity, where, {k: rejected[k] for k in ("code", "errors")}))
                yield dlt.mark.with_hints(rejected, REJECTED_HINTS, create_table_variant=True)

    return dlt.resource(
        rows,
        name=table_name(entity),
        primary_key=("tenant_id", "id"),
        write_disposition="merge",
    )


@dlt.source(name="platform", max_table_nesting=2)
def platform(
    source: str = dlt.config.value,
    realms: Mapping[str, str] | None = None,
    tally: Tally | None = None,
) -> Iterable[DltResource]:
    """Platform records from `source`: a folder of entity files, or a SQLAlchemy database URL.

    `realms` maps a tenant to its connected QBO realm, for records that do not name one."""
    tally = tally if tally is not None else Tally()
    loaded_at = datetime.now(UTC)  # the updated_at of records that carry none
    tenant_realms = dict(realms or {})
    resources = []
    if readers.is_database_url(source):
        for entity in MODELS:
            table_rows = readers.read_table(source, entity)
            if table_rows is not None:
                resources.append(
                    entity_resource(entity, lambda r=table_rows: r, tenant_realms, tally, loaded_at)
                )
        if not resources:
            raise readers.SourceError(
                "the platform database has none of the entity tables: "
                + ", ".join(readers.entity_names(e)[0] for e in MODELS)
            )
    else:
        for entity, path in readers.files_by_entity(Path(source)).items():
            resources.append(
                entity_resource(entity, lambda p=path: readers.read_file(p), tenant_realms, tally, loaded_at)
            )
    return resources
