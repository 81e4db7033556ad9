"""`qbo webhooks drain`: what stored webhook events say changed, fetched into the warehouse.

The gateway only stores events (store/webhook_queue.py). The drain claims them under a lease, dedupes
them (one change told twice is one change), groups them by realm and entity, and loads the changed
records through the source's targeted fetch: Create, Update, Void and Emailed fetch the record; Delete
marks it deleted; Merge fetches the survivor and marks the merged-away record deleted, recording what it
went into. A record is marked deleted only if the warehouse holds it: a Delete for an id it never saw (a
flood of signed events for made-up ids, say) stays an event, done, with a note, and writes no row.
Events are marked done only after their load committed, so a worker killed mid-batch leaves them
claimed; once the lease runs out the next worker takes them again, and the merge on (realm_id, id)
makes the second load change nothing. Processed events are kept, for `qbo webhooks replay`.

One bad event must not hold its realm back (issue 15). When QBO refuses a group's fetch for good (a
400 or 404 fault: an id it cannot have, say), the group is split in halves until the refused ids stand
alone, so the rest of the group loads. A refused event is given back for the next drain, and marked
`failed`, with QBO's answer as its note, once it has been tried MAX_ATTEMPTS times. A failure that may
pass (throttling, QBO down, the network, a lost consent) gives the whole group back and ends the drain.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pipelines.runtime.landing import fetch_records
from pipelines.runtime.warehouse import root_cause
from sources.quickbooks.catalog import ENTITIES
from sources.quickbooks.errors import NotFoundError, QboError
from sources.quickbooks.errors import ValidationError as QboValidationError

if TYPE_CHECKING:
    from pipelines.runtime.connector import Connector

log = logging.getLogger("qbo.webhooks")

GONE = ("Delete",)
MAX_ATTEMPTS = 3  # tries (claims, counted in `attempts`) before an event QBO refuses is marked failed
UNKNOWN_NOTE = (
    "the warehouse never held this {entity} (and QBO has none live): kept as an event, no row written"
)


@dataclass
class Changes:
    """What one realm's events say of one entity, deduplicated: ids to fetch, ids known deleted."""

    fetch: set[str] = field(default_factory=set)
    deleted: dict[str, tuple[datetime, str | None]] = field(default_factory=dict)
    events: list[int] = field(default_factory=list)
    told: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))  # record id -> its events


def coalesce(rows: Iterable[dict[str, Any]]) -> dict[tuple[str, str], Changes]:
    """(realm, entity) -> Changes. A deleted record is not fetched, whatever else its events say."""
    out: dict[tuple[str, str], Changes] = defaultdict(Changes)
    for row in rows:
        changes = out[(row["realm_id"], row["entity"])]
        changes.events.append(row["id"])
        when = row["occurred_at"]
        if row["operation"] in GONE:
            changes.deleted[row["entity_id"]] = (when, None)
            changes.told[row["entity_id"]].append(row["id"])
        elif row["operation"] == "Merge" and row["deleted_id"]:
            changes.fetch.add(row["entity_id"])
            changes.told[row["entity_id"]].append(row["id"])
            changes.deleted[row["deleted_id"]] = (when, row["entity_id"])
        else:
            changes.fetch.add(row["entity_id"])
            changes.told[row["entity_id"]].append(row["id"])
    for changes in out.values():
        changes.fetch -= set(changes.deleted)
    return dict(out)


@dataclass
class DrainResult:
    events: int = 0  # events claimed
    duplicates: int = 0  # events that told a change another event had told
    fetched: int = 0  # records asked of QBO
    deleted: int = 0  # records marked deleted
    unknown: int = 0  # records events named gone that the warehouse never held: no row written
    ignored: int = 0  # events of realms not connected, or entities not in the catalog
    failed: int = 0  # events given back for the next drain
    given_up: int = 0  # events QBO refused MAX_ATTEMPTS times, marked failed: no drain takes them again
    requests: int = 0  # QBO HTTP requests
    notes: list[str] = field(default_factory=list)


def drain(
    connector: Connector,
    echo: Callable[[str], None] = print,
    batch: int = 500,
    load_lock: AbstractContextManager[Any] | None = None,
) -> DrainResult:
    """Process every pending event; one warehouse writer (this one)."""
    queue = connector.store.events
    connected = (
        {r.realm_id for r in connector.connections()} if connector.settings.token_encryption_keys else set()
    )
    result = DrainResult()
    given_back: set[int] = set()  # refused events this drain gave back: the next drain tries them
    while True:
        token, rows = queue.claim(batch, exclude=given_back)
        if not rows:
            break
        result.events += len(rows)
        result.duplicates += len(rows) - len({_content(r) for r in rows})
        for reason, test in (
            ("realm not connected", lambda r: r["realm_id"] not in connected),
            ("entity not in the catalog", lambda r: r["entity"] not in ENTITIES),
        ):
            skipped = [r for r in rows if test(r)]
            if skipped:
                queue.finish(token, [r["id"] for r in skipped], "ignored", reason)
                result.ignored += len(skipped)
                rows = [r for r in rows if not test(r)]
        attempts = {r["id"]: int(r["attempts"] or 0) for r in rows}
        passing = False  # a failure that may pass: the drain stops, and the next one retries
        for (realm_id, entity), changes in sorted(coalesce(rows).items()):
            try:
                requests, refused, unknown = _load(connector, realm_id, entity, changes, load_lock)
            except Exception as exc:
                cause = root_cause(exc)
                connector.store.errors.record(cause, realm_id, entity, operation="webhook")
                queue.release(token, changes.events, f"{type(cause).__name__}: {cause}")
                result.failed += len(changes.events)
                result.notes.append(f"realm {realm_id} {entity}: {cause}")
                passing = True
                continue
            result.requests += requests
            bad = {event for entity_id in refused for event in changes.told[entity_id]}
            unseen = {event for entity_id in unknown for event in changes.told[entity_id]} - bad
            queue.finish(token, [e for e in changes.events if e not in bad | unseen], "done")
            queue.finish(token, sorted(unseen), "done", UNKNOWN_NOTE.format(entity=entity))
            for entity_id, cause in sorted(refused.items()):
                told = {e: attempts[e] for e in changes.told[entity_id]}
                given_back |= _refused(connector, token, result, (realm_id, entity, entity_id), told, cause)
            result.fetched += len(changes.fetch) - len(refused)
            marked = len(set(changes.deleted) - unknown)
            result.deleted += marked
            result.unknown += len(unknown)
            echo(
                f"realm {realm_id}: {entity}: {len(changes.events)} events, "
                f"{len(changes.fetch) - len(refused)} fetched, {marked} deleted"
                + (f", {len(unknown)} never in the warehouse (no row written)" if unknown else "")
                + (f", {len(refused)} refused by QBO" if refused else "")
            )
        if passing:
            break  # what failed waits for the next drain rather than being retried in a loop
    return result


def _refused(
    connector: Connector,
    token: str,
    result: DrainResult,
    record: tuple[str, str, str],
    told: dict[int, int],
    cause: BaseException,
) -> set[int]:
    """The events (id -> tries so far) naming one record QBO refused: marked failed once they had
    MAX_ATTEMPTS tries, else given back for the next drain; returns those given back."""
    realm_id, entity, entity_id = record
    queue = connector.store.events
    connector.store.errors.record(cause, realm_id, entity, operation="webhook")
    why = f"QBO refused {entity} {entity_id!r}: {type(cause).__name__}: {cause}"
    spent = [e for e, tries in told.items() if tries >= MAX_ATTEMPTS]
    again = [e for e, tries in told.items() if tries < MAX_ATTEMPTS]
    if spent:
        queue.finish(
            token,
            spent,
            "failed",
            f"{why}; failed after {MAX_ATTEMPTS} tries. Fix the cause in QBO, then "
            "`qbo webhooks replay` to try it again",
        )
        result.given_up += len(spent)
        result.notes.append(f"realm {realm_id} {entity} {entity_id!r}: marked failed: {cause}")
    if again:
        queue.release(token, again, f"{why} (try {max(told[e] for e in again)} of {MAX_ATTEMPTS})")
        result.failed += len(again)
        result.notes.append(f"realm {realm_id} {entity} {entity_id!r}: {cause}")
    return set(again)


def _content(row: dict[str, Any]) -> tuple[Any, ...]:
    return row["realm_id"], row["entity"], row["entity_id"], row["operation"], row["occurred_at"]


def _load(
    connector: Connector,
    realm_id: str,
    entity: str,
    changes: Changes,
    load_lock: AbstractContextManager[Any] | None = None,
) -> tuple[int, dict[str, BaseException], set[str]]:
    """Fetch and merge one (realm, entity) group: (the HTTP requests it took, the ids QBO refused for
    good, with why, the ids named gone that the warehouse never held, so not marked). A refused fetch
    is split in halves until the refused ids stand alone; any other failure is raised, for the whole
    group to be given back."""
    client = connector.client(realm_id)
    before = client.stats.requests
    refused: dict[str, BaseException] = {}
    unknown: set[str] = set()
    parts: list[tuple[list[str], dict[str, tuple[datetime, str | None]]]] = [
        (sorted(changes.fetch), changes.deleted)
    ]
    while parts:
        ids, deleted = parts.pop()
        try:
            fetched = fetch_records(
                client,
                entity,
                ids,
                warehouse=connector.settings.warehouse_target,
                pipelines_dir=connector.settings.pipelines_path,
                deleted=deleted,
                load_lock=load_lock,
            )
        except Exception as exc:
            cause = root_cause(exc)
            if not ids or not refused_for_good(cause):
                raise
            if len(ids) == 1:
                refused[ids[0]] = cause
                if deleted:  # the known deletions need no QBO answer: they still land
                    parts.append(([], deleted))
                continue
            half = len(ids) // 2
            parts += [(ids[half:], {}), (ids[:half], deleted)]
            continue
        unknown |= fetched.unknown
    return client.stats.requests - before, refused, unknown


def refused_for_good(cause: BaseException) -> bool:
    """QBO refused the request itself (a 400 validation or query fault, a 404): asking again with the
    same ids gets the same answer. Throttling, 5xx, the network and lost consents may pass."""
    if isinstance(cause, QboValidationError | NotFoundError):
        return True
    return isinstance(cause, QboError) and cause.status in (400, 404) and not cause.retryable
