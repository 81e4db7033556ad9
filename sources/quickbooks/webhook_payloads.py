"""Webhook notifications from Intuit: signature verification and both payload formats as one event type.

The signature is base64(HMAC-SHA256(verifier token, raw body)), compared in constant time over the
bytes received, never over re-serialised JSON (QBO_API.md §8). The legacy payload
(`eventNotifications[]`) and the CloudEvents payload (a JSON array) become the same `ChangeEvent`,
whose `key` is what deduplicates: the CloudEvents `id` (retried deliveries reuse it), and for the
legacy format, which has no id, the notification's content.

Hostile input (issue 15): a body that cannot be read (not JSON, nested past `MAX_DEPTH`, a field
missing or too long, a time out of range) is refused whole, naming the field. An event whose realm or
entity id is not a QBO id (1 to 20 ASCII digits) is refused alone (`Delivery.refused`): it could never
be fetched, and queued it would only fail in the drain, while the delivery's other events are good.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sources.nesting import MAX_DEPTH, too_deep
from sources.platform.errors import detail
from sources.quickbooks.catalog import ENTITIES
from sources.quickbooks.extract import parse_time

OPERATIONS = ("Create", "Update", "Delete", "Merge", "Void", "Emailed")
VERBS = {"created": "Create", "updated": "Update", "deleted": "Delete", "merged": "Merge"} | {
    "voided": "Void",
    "emailed": "Emailed",
}
BY_LOWER = {name.lower(): name for name in ENTITIES}
QBO_ID = re.compile(r"[0-9]{1,20}")  # realm and entity ids: ASCII digits only (`\d` takes any script's)
EARLIEST, LATEST = datetime(1990, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)


class WebhookPayloadError(ValueError):
    """The body is not a notification we understand; the message names the field and the event."""


def signature(body: bytes, verifier_token: str) -> str:
    digest = hmac.new(verifier_token.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify(body: bytes, header: str | None, verifier_token: str) -> bool:
    """True only when `intuit-signature` is the body's HMAC under the verifier token."""
    if not header or not verifier_token:
        return False
    return hmac.compare_digest(
        signature(body, verifier_token).encode("ascii"), header.strip().encode("ascii", "replace")
    )


@dataclass(frozen=True)
class ChangeEvent:
    key: str  # what deduplicates deliveries of the same event
    format: Literal["legacy", "cloudevents"]
    realm_id: str
    entity: str  # the catalog's name (Invoice); an entity the catalog lacks keeps Intuit's spelling
    entity_id: str
    operation: str  # Create | Update | Delete | Merge | Void | Emailed
    occurred_at: datetime  # aware, UTC
    deleted_id: str | None = None  # Merge: the record merged away (entity_id is the survivor)

    @property
    def content_key(self) -> tuple[str, str, str, str, datetime]:
        """The same change told twice (two ids, or a legacy and a CloudEvents copy) is one change."""
        return self.realm_id, self.entity, self.entity_id, self.operation, self.occurred_at


@dataclass
class Delivery:
    """What one delivery says: the events to queue, and the events refused (each an error DTO detail
    naming its field, e.g. `eventNotifications[0].dataChangeEvent.entities[2].id`)."""

    events: list[ChangeEvent] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)
    refused_events: int = 0  # one event can have several bad ids
    check_ids: bool = True


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class _Timestamp(_Model):
    @field_validator("*", mode="before")
    @classmethod
    def _no_blank(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            raise ValueError("must not be empty")
        return value


class LegacyEntity(_Timestamp):
    name: str = Field(max_length=64)
    id: str
    operation: Literal[OPERATIONS]  # type: ignore[valid-type]
    lastUpdated: str = Field(max_length=64)
    deletedId: str | None = None

    @field_validator("id", "deletedId", mode="before")
    @classmethod
    def _id_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


class LegacyChange(_Model):
    entities: list[LegacyEntity]


class LegacyNotification(_Timestamp):
    realmId: str
    dataChangeEvent: LegacyChange


class LegacyPayload(_Model):
    eventNotifications: list[LegacyNotification] = Field(min_length=1)


class CloudEvent(_Timestamp):
    specversion: str = Field(max_length=16)
    id: str = Field(max_length=200)  # the queue's event_key
    type: str = Field(max_length=100, pattern=r"^qbo\.[a-z0-9_]{1,64}\.[a-z]{1,16}\.v[0-9]{1,6}$")
    time: str = Field(max_length=64)
    intuitentityid: str
    intuitaccountid: str
    data: dict[str, Any] | None = None

    @field_validator("intuitentityid", "intuitaccountid", mode="before")
    @classmethod
    def _id_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


def parse(body: bytes) -> list[ChangeEvent]:
    """Every change a delivery reports, ids as given; WebhookPayloadError (naming the field) if any part
    is malformed. For replaying and testing known deliveries (Intuit's published samples mask their
    account ids); the gateway reads with `read`, which refuses ids QBO cannot have."""
    return read(body, check_ids=False).events


def read(body: bytes, *, check_ids: bool = True) -> Delivery:
    """A delivery as the gateway takes it: WebhookPayloadError (naming the field) if the body cannot be
    read, so Intuit retries it rather than losing part of it; events with ids QBO cannot have are
    refused one by one in `Delivery.refused`, beside the good events."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WebhookPayloadError(f"the body is not JSON: {exc}") from None
    except RecursionError:
        raise WebhookPayloadError(f"the body nests deeper than {MAX_DEPTH} levels") from None
    if too_deep(document):
        raise WebhookPayloadError(f"the body nests deeper than {MAX_DEPTH} levels")
    delivery = Delivery(check_ids=check_ids)
    if isinstance(document, list):
        _cloudevents(document, delivery, "")
    elif isinstance(document, dict) and "eventNotifications" in document:
        _legacy(document, delivery)
    elif isinstance(document, dict) and "specversion" in document:  # a single CloudEvent, unbatched
        _cloudevents([document], delivery, None)
    else:
        raise WebhookPayloadError(
            "expected a CloudEvents array or a legacy object with eventNotifications; got neither"
        )
    return delivery


def _bad_ids(delivery: Delivery, ids: list[tuple[str, str | None]]) -> bool:
    """Refuse the event (True) when one of its (field, value) ids is not a QBO id."""
    if not delivery.check_ids:
        return False
    bad = [(where, value) for where, value in ids if value is not None and not QBO_ID.fullmatch(value)]
    for where, value in bad:
        shown = value if len(value) <= 40 else value[:40] + "..."
        delivery.refused.append(
            detail(
                where,
                "bad_format",
                f"{where}: {shown!r} is not a QBO id (1 to 20 digits 0-9); the event was not "
                "queued. Intuit sends only digits: check what signs these deliveries",
            )
        )
    delivery.refused_events += bool(bad)
    return bool(bad)


def _legacy(document: dict[str, Any], delivery: Delivery) -> None:
    try:
        payload = LegacyPayload.model_validate(document)
    except ValidationError as exc:
        raise WebhookPayloadError(_first_error("legacy notification", exc)) from None
    for n, notification in enumerate(payload.eventNotifications):
        for m, entity in enumerate(notification.dataChangeEvent.entities):
            at = f"eventNotifications[{n}].dataChangeEvent.entities[{m}]"
            occurred = _time(entity.lastUpdated, f"{at}.lastUpdated")
            ids = [
                (f"eventNotifications[{n}].realmId", notification.realmId),
                (f"{at}.id", entity.id),
                (f"{at}.deletedId", entity.deletedId),
            ]
            if _bad_ids(delivery, ids):
                continue
            name = BY_LOWER.get(entity.name.lower(), entity.name)
            content = "|".join(
                (
                    notification.realmId,
                    name,
                    entity.id,
                    entity.operation,
                    occurred.isoformat(),
                    entity.deletedId or "",
                )
            )
            delivery.events.append(
                ChangeEvent(
                    key="legacy:" + hashlib.sha256(content.encode()).hexdigest()[:40],
                    format="legacy",
                    realm_id=notification.realmId,
                    entity=name,
                    entity_id=entity.id,
                    operation=entity.operation,
                    occurred_at=occurred,
                    deleted_id=entity.deletedId,
                )
            )


def _cloudevents(document: list[Any], delivery: Delivery, prefix: str | None) -> None:
    """`prefix` is "" for an array (fields read `[2].intuitentityid`), None for one bare event."""
    if not document:
        raise WebhookPayloadError("the CloudEvents array is empty")
    for n, raw in enumerate(document):
        try:
            event = CloudEvent.model_validate(raw)
        except ValidationError as exc:
            raise WebhookPayloadError(_first_error(f"event [{n}]", exc)) from None
        _, entity, verb, _version = event.type.split(".")
        if verb not in VERBS:
            raise WebhookPayloadError(
                f"event [{n}].type {event.type!r}: unknown operation {verb!r} "
                f"(expected one of {', '.join(VERBS)})"
            )
        occurred = _time(event.time, f"event [{n}].time")
        deleted = (event.data or {}).get("deletedid")
        deleted_id = str(deleted) if deleted not in (None, "") else None
        at = "" if prefix is None else f"[{n}]."
        ids = [
            (f"{at}intuitaccountid", event.intuitaccountid),
            (f"{at}intuitentityid", event.intuitentityid),
            (f"{at}data.deletedid", deleted_id),
        ]
        if _bad_ids(delivery, ids):
            continue
        delivery.events.append(
            ChangeEvent(
                key=event.id,
                format="cloudevents",
                realm_id=event.intuitaccountid,
                entity=BY_LOWER.get(entity, entity),
                entity_id=event.intuitentityid,
                operation=VERBS[verb],
                occurred_at=occurred,
                deleted_id=deleted_id,
            )
        )


def _time(value: str, where: str) -> datetime:
    text = value.strip()
    if "." in text:  # CloudEvents carry up to 9 fractional digits; Python takes 6
        head, _, tail = text.partition(".")
        digits = "".join(c for c in tail if c.isdigit())
        text = f"{head}.{digits[:6]}{tail[len(digits) :]}"
    try:
        moment: datetime | None = parse_time(text)
    except ValueError:
        raise WebhookPayloadError(f"{where}: {value!r} is not an ISO 8601 time with an offset") from None
    except OverflowError:  # year 1 or 9999, moved to UTC
        moment = None
    if moment is None or not EARLIEST <= moment < LATEST:
        raise WebhookPayloadError(
            f"{where}: {value!r} is out of range (expected a time from {EARLIEST.year} to {LATEST.year})"
        )
    return moment


def _first_error(what: str, exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in error["loc"]) or "(body)"
    return f"{what}: {where}: {error['msg']}"
