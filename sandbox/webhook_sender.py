"""Webhook notifications, as Intuit sends them (reference/QBO_API.md §8).

Changes are grouped over a short window, signed (`intuit-signature` = base64 HMAC-SHA256 of the
raw body, keyed by the verifier token) and POSTed in the legacy or the CloudEvents format.
A failed delivery is retried with a growing delay, so a receiver that was down catches up.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests

from sandbox.rules.changes import Change
from sandbox.settings import SandboxConfig, WebhookSettings
from sources.quickbooks.catalog import ENTITIES
from sources.quickbooks.webhook_payloads import signature

log = logging.getLogger("sandbox.webhook_sender")

CLOUDEVENT_VERBS = {
    "Create": "created",
    "Update": "updated",
    "Delete": "deleted",
    "Merge": "merged",
    "Void": "voided",
    "Emailed": "emailed",
}


def _iso_utc(epoch: float, digits: int = 3) -> str:
    text = datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds" if digits == 3 else "seconds")
    return text.replace("+00:00", "Z")


def legacy_payloads(changes: list[Change]) -> list[dict[str, Any]]:
    """One POST per realm, as Intuit sends legacy notifications."""
    by_realm: dict[str, list[dict[str, Any]]] = {}
    for change in changes:
        entity: dict[str, Any] = {
            "name": change.entity,
            "id": change.id,
            "operation": change.operation,
            "lastUpdated": _iso_utc(change.last_updated),
        }
        if change.deleted_id:
            entity["deletedId"] = change.deleted_id
        by_realm.setdefault(change.realm_id, []).append(entity)
    return [
        {"eventNotifications": [{"realmId": realm, "dataChangeEvent": {"entities": entities}}]}
        for realm, entities in by_realm.items()
    ]


def cloudevents_payload(changes: list[Change]) -> list[dict[str, Any]]:
    events = []
    for change in changes:
        event: dict[str, Any] = {
            "specversion": "1.0",
            "id": f"{uuid.uuid4()}-{change.entity}-{change.id}",
            "source": "intuit.qbo-sandbox",
            "type": f"qbo.{change.entity.lower()}.{CLOUDEVENT_VERBS[change.operation]}.v1",
            "datacontenttype": "application/json",
            "time": _iso_utc(change.last_updated, digits=0),
            "intuitentityid": change.id,
            "intuitaccountid": change.realm_id,
            "data": {"deletedid": change.deleted_id} if change.deleted_id else {},
        }
        events.append(event)
    return events


@dataclass
class Delivery:
    body: bytes
    content_type: str
    attempts: int = 0
    due: float = field(default_factory=time.monotonic)
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])


class WebhookEmitter:
    """A background thread: collect changes for a window, then deliver with retries."""

    def __init__(self, config: Callable[[], SandboxConfig]) -> None:
        self._config = config
        self._changes: queue.Queue[Change] = queue.Queue()
        self._retry: list[Delivery] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.log: list[dict[str, Any]] = []  # delivery attempts, newest last (bounded)
        self._session = requests.Session()

    def submit(self, changes: list[Change]) -> None:
        settings = self._config().webhooks
        if not settings.url:
            return
        for change in changes:
            if change.operation in ENTITIES[change.entity].webhook_operations:
                self._changes.put(change)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def pending(self) -> int:
        return self._changes.qsize() + len(self._retry)

    def _run(self) -> None:
        while not self._stop.is_set():
            batch = self._collect()
            settings = self._config().webhooks
            if batch and settings.url:
                for delivery in self._build(batch, settings):
                    self._deliver(delivery, settings)
            now = time.monotonic()
            due = [d for d in self._retry if d.due <= now]
            self._retry = [d for d in self._retry if d.due > now]
            for delivery in due:
                self._deliver(delivery, self._config().webhooks)

    def _collect(self) -> list[Change]:
        try:
            first = self._changes.get(timeout=0.1)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self._config().webhooks.window_seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                batch.append(self._changes.get(timeout=left))
            except queue.Empty:
                break
        return batch

    @staticmethod
    def _build(changes: list[Change], settings: WebhookSettings) -> list[Delivery]:
        if settings.format == "legacy":
            return [
                Delivery(json.dumps(p, separators=(",", ":")).encode(), "application/json")
                for p in legacy_payloads(changes)
            ]
        body = json.dumps(cloudevents_payload(changes), separators=(",", ":")).encode()
        return [Delivery(body, "application/cloudevents+json")]

    def _deliver(self, delivery: Delivery, settings: WebhookSettings) -> None:
        if not settings.url:
            return
        delivery.attempts += 1
        headers = {
            "content-type": delivery.content_type,
            "intuit-signature": signature(delivery.body, settings.verifier_token),
        }
        try:
            response = self._session.post(
                settings.url, data=delivery.body, headers=headers, timeout=settings.timeout_seconds
            )
            status: int | None = response.status_code
            ok = 200 <= response.status_code < 300
        except requests.RequestException as exc:
            status, ok = None, False
            log.info("webhook delivery %s failed: %s", delivery.id, type(exc).__name__)
        self.log.append(
            {
                "delivery": delivery.id,
                "attempt": delivery.attempts,
                "status": status,
                "ok": ok,
                "bytes": len(delivery.body),
                "at": time.time(),
            }
        )
        del self.log[:-1000]
        if not ok and delivery.attempts < settings.max_attempts:
            delivery.due = time.monotonic() + settings.retry_base_seconds * 2 ** (delivery.attempts - 1)
            self._retry.append(delivery)
