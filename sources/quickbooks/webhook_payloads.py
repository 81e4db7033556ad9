"""Webhook notifications from Intuit: signature verification and both payload formats as one event type.

The signature is base64(HMAC-SHA256(verifier token, raw body)), compared in constant time over the
bytes received, never over re-serialised JSON (QBO_API.md §8). The legacy payload
(`eventNotifications[]`) and the CloudEvents payload (a JSON array) become the same `ChangeEvent`,
whose `key` is what deduplicates: the CloudEvents `id` (retried deliveries reuse it), and for the
legacy format, which has no id, the notification's content.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sources.quickbooks.catalog import ENTITIES
from sources.quickbooks.extract import parse_time

OPERATIONS = ("Create", "Update", "Delete", "Merge", "Void", "Emailed")
VERBS = {"created": "Create", "updated": "Update", "deleted": "Delete", "merged": "Merge"} | {
    "voided": "Void",
    "emailed": "Emailed",
}
BY_LOWER = {name.lower(): name for name in ENTITIES}


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
    name: str
    id: str
    operation: Literal[OPERATIONS]  # type: ignore[valid-type]
    lastUpdated: str
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
    specversion: str
    id: str
    type: str = Field(pattern=r"^qbo\.[a-z0-9_]+\.[a-z]+\.v\d+$")
    time: str
    intuitentityid: str
    intuitaccountid: str
    data: dict[str, Any] | None = None

    @field_validator("intuitentityid", "intuitaccountid", mode="before")
    @classmethod
    def _id_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


def parse(body: bytes) -> list[ChangeEvent]:
    """Every change a delivery reports; WebhookPayloadError (naming the field) if any part is malformed:
    a delivery is taken whole or refused whole, so Intuit retries it rather than losing part of it."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WebhookPayloadError(f"the body is not JSON: {exc}") from None
    if isinstance(document, list):
        return list(_cloudevents(document))
    if isinstance(document, dict) and "eventNotifications" in document:
        return list(_legacy(document))
    if isinstance(document, dict) and "specversion" in document:  # a single CloudEvent, unbatched
        return list(_cloudevents([document]))
    raise WebhookPayloadError(
        "expected a CloudEvents array or a legacy object with eventNotifications; got neither"
    )


def _legacy(document: dict[str, Any]) -> Iterator[ChangeEvent]:
    try:
        payload = LegacyPayload.model_validate(document)
    except ValidationError as exc:
        raise WebhookPayloadError(_first_error("legacy notification", exc)) from None
    for n, notification in enumerate(payload.eventNotifications):
        for m, entity in enumerate(notification.dataChangeEvent.entities):
            where = f"eventNotifications[{n}].dataChangeEvent.entities[{m}].lastUpdated"
            occurred = _time(entity.lastUpdated, where)
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
            yield ChangeEvent(
                key="legacy:" + hashlib.sha256(content.encode()).hexdigest()[:40],
                format="legacy",
                realm_id=notification.realmId,
                entity=name,
                entity_id=entity.id,
                operation=entity.operation,
                occurred_at=occurred,
                deleted_id=entity.deletedId,
            )


def _cloudevents(document: list[Any]) -> Iterator[ChangeEvent]:
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
        deleted = (event.data or {}).get("deletedid")
        yield ChangeEvent(
            key=event.id[:200],
            format="cloudevents",
            realm_id=event.intuitaccountid,
            entity=BY_LOWER.get(entity, entity),
            entity_id=event.intuitentityid,
            operation=VERBS[verb],
            occurred_at=_time(event.time, f"event [{n}].time"),
            deleted_id=str(deleted) if deleted not in (None, "") else None,
        )


def _time(value: str, where: str) -> datetime:
    text = value.strip()
    if "." in text:  # CloudEvents carry up to 9 fractional digits; Python takes 6
        head, _, tail = text.partition(".")
        digits = "".join(c for c in tail if c.isdigit())
        text = f"{head}.{digits[:6]}{tail[len(digits) :]}"
    try:
        return parse_time(text)
    except ValueError:
        raise WebhookPayloadError(f"{where}: {value!r} is not an ISO 8601 time with an offset") from None


def _first_error(what: str, exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    field = ".".join(str(p) for p in error["loc"]) or "(body)"
    return f"{what}: {field}: {error['msg']}"
