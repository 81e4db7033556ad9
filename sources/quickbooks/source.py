"""The dlt source for QuickBooks Online: one resource per entity, for one realm.

Rows are merged on (realm_id, Id), so one dataset holds every realm (DESIGN decision 1); deleted
records are marked with `_deleted` and `_deleted_at` (decision 3). Which requests are made is
decided by `extract.Extraction`: a full cursor scan the first time, then CDC plus one batch.
The run's checkpoint (QBO's clock at the run's first answer) is kept in the source state, which dlt
commits with the loaded data: a run killed before its load leaves the checkpoint where it was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import dlt
from dlt.extract.resource import DltResource

from sources.quickbooks import settings, table_name
from sources.quickbooks.catalog import ENTITIES
from sources.quickbooks.client import QboClient
from sources.quickbooks.extract import (
    DELETED,
    DELETED_AT,
    EXTREME,
    EntityState,
    Extraction,
    deletion,
    fetch_ids,
    iso,
    normalise,
    normalised,
    parse_time,
)
from sources.quickbooks.scan import Scan

if TYPE_CHECKING:
    from sources.quickbooks.columnar import Columnar

MAX_NESTING = 3  # child tables of child tables of child tables; deeper objects stay JSON

COLUMNS: dict[str, dict[str, Any]] = {
    "realm_id": {"data_type": "text", "nullable": False},
    "id": {"data_type": "text", "nullable": False},
    DELETED: {"data_type": "bool", "nullable": False},
    DELETED_AT: {"data_type": "timestamp", "nullable": True},
    EXTREME: {"data_type": "text", "nullable": True},  # numbers the warehouse could not hold as QBO sent them
    "meta_data__create_time": {"data_type": "timestamp", "nullable": True},
    # rows read twice in one run (updated mid-run, or read by two windows of a scan): the newest is kept
    "meta_data__last_updated_time": {"data_type": "timestamp", "nullable": True, "dedup_sort": "desc"},
}


def entity_table(entity: str, rows: Callable[[], Iterator[dict[str, Any]]]) -> DltResource:
    """The resource that merges an entity's rows into its table on (realm_id, id)."""
    return dlt.resource(
        rows,
        name=table_name(entity),
        primary_key=("realm_id", "id"),
        write_disposition="merge",
        columns=COLUMNS,
    )


@dlt.source(name="quickbooks", max_table_nesting=MAX_NESTING)
def quickbooks(
    realm_id: str,
    client: QboClient,
    entities: Sequence[str] | None = None,
    full_refresh: bool = False,
    existing_ids: Callable[[str], set[str]] | None = None,
    report: dict[str, Extraction] | None = None,
    progress: Callable[[str, int, bool], None] | None = None,
    workers: int = settings.MAX_IN_FLIGHT,
    columnar: bool = False,
    begun: Extraction | None = None,
) -> Iterable[DltResource]:
    """Every QBO entity of one realm (or `entities`), incrementally, deletes included.

    `report`, when given, receives the run's `Extraction` (rows counted, notes, HTTP cost); `workers`
    is how many requests its full scans keep in flight (1: page by page, as before issue 19).
    `columnar` hands dlt big pages as Arrow tables (columnar.py): for a warehouse loaded from parquet.
    `begun` is a run already asked what changed (an idle sync's probe that found changes): it is taken
    over if it started from this state's checkpoints, so QBO is not asked twice."""
    selected = list(entities or ENTITIES)
    unknown = [e for e in selected if e not in ENTITIES]
    if unknown:
        raise ValueError(
            f"unknown QBO entities {unknown}; expected names like {', '.join(list(ENTITIES)[:5])}"
        )
    shared: dict[str, Extraction] = report if report is not None else {}

    def extraction() -> Extraction:
        if "run" not in shared:
            saved = dlt.current.source_state().setdefault("entities", {})
            state = {
                e: EntityState(
                    parse_time(saved[e]["checkpoint"]) if saved.get(e, {}).get("checkpoint") else None
                )
                for e in selected
            }
            if begun is not None and not full_refresh and begun.state == state:
                begun.existing_ids, begun.progress, begun.workers = existing_ids, progress, workers
                shared["run"] = begun
            else:
                shared["run"] = Extraction(
                    client,
                    realm_id,
                    selected,
                    state,
                    full_refresh,
                    existing_ids,
                    progress=progress,
                    workers=workers,
                )
        return shared["run"]

    def resource(entity: str) -> DltResource:
        def rows() -> Iterator[Any]:
            run = extraction()
            if columnar:
                yield from columnar_pages(run, entity)
            else:
                yield from run.pages(entity)
            if run.run_started is not None:
                dlt.current.source_state()["entities"][entity] = {
                    "checkpoint": iso(run.run_started),
                    "rows": run.counts.get(entity, 0),
                }

        return entity_table(entity, rows)

    return [resource(entity) for entity in selected]


COLUMNAR_PAGE = 100  # documents from which a page goes to dlt as Arrow tables (below, dicts cost less)
AS_TABLES = "as_tables"  # Extraction.counts' `<entity>:as_tables`: its records that went as Arrow tables


def columnar_pages(run: Extraction, entity: str) -> Iterator[Any]:
    """The entity's pages, big ones as Arrow tables (columnar.py), the others as rows. Run by the
    resource being extracted: its child tables get their hints from it (dlt's copy of it, which is
    not the object the source made)."""
    resource = dlt.current.get_resource()
    made: list[Columnar] = []  # at the first big page: pyarrow loads then, and an idle sync never waits
    children: set[str] = set()  # child tables given their hints

    def shape(entity: str, docs: list[dict[str, Any]], realm_id: str) -> tuple[Any, int]:
        if len(docs) < COLUMNAR_PAGE:
            return normalised(entity, docs, realm_id)
        if not made:
            made.append(columnar_of(resource))
        return made[0](entity, docs, realm_id)

    for page in run.pages(entity, shape):
        if not made or not made[0].made(page):
            yield page
            continue
        tables = made[0]
        run.counts[f"{entity}:{AS_TABLES}"] = run.counts.get(f"{entity}:{AS_TABLES}", 0) + page[0][1].num_rows
        for name, arrow in page:
            if name == tables.root:
                yield arrow
                continue
            if name not in children:  # its own hints, not the record's (no primary key, no Id)
                from sources.quickbooks.columnar import CHILD_KEYS

                children.add(name)
                resource.apply_hints(
                    table_name=name,
                    parent_table_name=tables.parents[name],
                    primary_key=[],
                    columns={},
                    create_table_variant=True,
                )
                resource.apply_hints(table_name=name, columns=CHILD_KEYS, create_table_variant=True)
            yield dlt.mark.with_table_name(arrow, name)


def columnar_of(resource: DltResource) -> Columnar:
    """The resource's Arrow path, its record's keys hinted as dlt hints them for rows."""
    from sources.quickbooks.columnar import ROOT_KEYS, Columnar, schema_types

    schema = dlt.current.source_schema()
    load_id = dlt.current.load_package_state()["load_id"]
    required = frozenset(name for name, column in COLUMNS.items() if column.get("nullable") is False)
    resource.apply_hints(columns=ROOT_KEYS)
    return Columnar(schema, str(resource.table_name), MAX_NESTING, load_id, schema_types(schema), required)


@dlt.source(name="quickbooks", max_table_nesting=MAX_NESTING)
def quickbooks_window(
    realm_id: str, client: QboClient, entities: Sequence[str], since: datetime, until: datetime
) -> Iterable[DltResource]:
    """The rows of `entities` last updated in [since, until): a backfill window, its entities read at
    once (scan.py). It keeps no checkpoint (the live cursor is not touched) and merges into the same
    tables."""
    scan = Scan(client, entities, since=since, until=until)

    def resource(entity: str) -> DltResource:
        def rows() -> Iterator[dict[str, Any]]:
            for page in scan.pages(entity):
                for doc in page:
                    yield normalise(entity, doc, realm_id)

        return entity_table(entity, rows)

    return [resource(entity) for entity in entities]


@dlt.source(name="quickbooks", max_table_nesting=MAX_NESTING)
def quickbooks_ids(
    realm_id: str,
    client: QboClient,
    entity: str,
    ids: Sequence[str],
    deleted: Mapping[str, tuple[datetime | None, str | None]] | None = None,
) -> Iterable[DltResource]:
    """Exactly these records of one entity (a targeted fetch, e.g. after webhooks); ids QBO no longer
    has are loaded as deleted. `deleted` are ids already known gone (id -> when, and what a merge
    folded them into): marked without asking QBO. No checkpoint moves."""

    def rows() -> Iterator[dict[str, Any]]:
        found, missing = fetch_ids(client, ENTITIES[entity], ids) if ids else ([], set())
        for doc in found:
            yield normalise(entity, doc, realm_id)
        for entity_id in sorted(missing):
            yield deletion(entity_id, realm_id, None)
        for entity_id, (when, merged_into) in sorted((deleted or {}).items()):
            yield deletion(entity_id, realm_id, when, merged_into)

    return [entity_table(entity, rows)]


@dlt.source(name="quickbooks", max_table_nesting=MAX_NESTING)
def quickbooks_docs(realm_id: str, docs: Mapping[str, Sequence[dict[str, Any]]]) -> Iterable[DltResource]:
    """These QBO documents, as QBO answered a push with them: merged like synced rows, so the warehouse
    sees QBO as it now is before the next sync. No checkpoint moves."""

    def resource(entity: str, found: Sequence[dict[str, Any]]) -> DltResource:
        def rows() -> Iterator[dict[str, Any]]:
            for doc in found:
                yield normalise(entity, doc, realm_id)

        return entity_table(entity, rows)

    return [resource(entity, found) for entity, found in docs.items() if found]
