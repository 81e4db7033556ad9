"""Webhook deliveries as Intuit sends them, posted concurrently, and the proof that each event landed once.

Shared by bench/webhook_bench.py (10,000 deliveries against `qbo serve` in its own process) and
tests/service/test_webhook_load.py (a few thousand against the app on a thread). The mix: signed
CloudEvents arrays of 1-5 events over several realms, some legacy notifications, exact re-posts of
deliveries already made (Intuit retries whatever it thinks failed) and deliveries whose signature
is wrong (body tampered after signing, another verifier token, or no signature at all).
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, func, select

from pipelines.store.schema import webhook_events
from sandbox.rules.changes import Change
from sandbox.webhook_sender import cloudevents_payload, legacy_payloads
from sources.quickbooks.catalog import ENTITIES
from sources.quickbooks.webhook_payloads import parse, signature

WEBHOOK_PATH = "/integrations/quickbooks/webhook"
VALID = ("cloudevents", "legacy", "duplicate")
BAD = ("tampered", "wrong-token", "unsigned")
NOTIFIED = sorted(name for name, entity in ENTITIES.items() if entity.webhook_operations)


@dataclass(frozen=True)
class Delivery:
    kind: str  # cloudevents | legacy | duplicate (an exact re-post) | tampered | wrong-token | unsigned
    body: bytes
    content_type: str
    signature: str | None  # the intuit-signature header; None: not sent
    keys: tuple[str, ...]  # the event keys the body carries, as the gateway parses them

    @property
    def valid(self) -> bool:
        return self.kind in VALID

    @property
    def expected(self) -> int:
        return 200 if self.valid else 401


def deliveries(
    count: int,
    verifier_token: str,
    seed: int = 1,
    realms: int = 8,
    duplicates: float = 0.10,
    bad: float = 0.05,
    legacy: float = 0.10,
) -> list[Delivery]:
    """`count` deliveries in a shuffled order: about `duplicates` of them re-posts of earlier ones,
    `bad` with a wrong signature, and of the rest `legacy` legacy notifications, else CloudEvents."""
    rng = random.Random(seed)
    realm_ids = [str(9341455000000000 + 7919 * n) for n in range(realms)]
    counter = iter(range(1, 10**9))
    started = 1_760_000_000.0

    def change() -> Change:
        entity = rng.choice(NOTIFIED)
        operation = rng.choice(ENTITIES[entity].webhook_operations)
        number = next(counter)
        return Change(
            realm_id=rng.choice(realm_ids),
            entity=entity,
            id=str(number),
            operation=operation,
            last_updated=started + number,
            deleted_id=str(10**8 + number) if operation == "Merge" else None,
        )

    def fresh() -> tuple[str, bytes, str]:
        if rng.random() < legacy:
            one = change()  # a legacy POST is one realm's changes
            changes = [one] + [
                Change(one.realm_id, c.entity, c.id, c.operation, c.last_updated, c.deleted_id)
                for c in (change() for _ in range(rng.randint(0, 2)))
            ]
            (payload,) = legacy_payloads(changes)
            return "legacy", _compact(payload), "application/json"
        payload = cloudevents_payload([change() for _ in range(rng.randint(1, 5))])
        return "cloudevents", _compact(payload), "application/cloudevents+json"

    n_bad = round(count * bad)
    n_duplicate = round(count * duplicates)
    originals: list[Delivery] = []
    for _ in range(count - n_bad - n_duplicate):
        kind, body, content_type = fresh()
        originals.append(Delivery(kind, body, content_type, signature(body, verifier_token), _keys(body)))
    out = list(originals)
    for _ in range(n_duplicate):
        again = rng.choice(originals)
        out.append(Delivery("duplicate", again.body, again.content_type, again.signature, again.keys))
    for n in range(n_bad):
        _, body, content_type = fresh()  # events never delivered validly: none of them may be stored
        kind = BAD[n % len(BAD)]
        sig: str | None = signature(body, verifier_token)
        if kind == "tampered":  # signed, then changed in flight: an entity id gains a digit
            body = body.replace(b'"intuitentityid":"', b'"intuitentityid":"9', 1).replace(
                b'"id":"', b'"id":"9', 1
            )
        elif kind == "wrong-token":
            sig = signature(body, verifier_token + "-not-ours")
        else:
            sig = None
        out.append(Delivery(kind, body, content_type, sig, _keys(body)))
    rng.shuffle(out)
    return out


def _compact(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def _keys(body: bytes) -> tuple[str, ...]:
    return tuple(e.key for e in parse(body))


@dataclass(frozen=True)
class Outcome:
    status: int | None  # None: no HTTP answer at all (connection refused or reset, timeout)
    seconds: float
    answer: dict[str, Any] | None
    error: str | None  # the body of an unexpected answer, or the transport error


def post_all(
    url: str, batch: Sequence[Delivery], concurrency: int = 64, timeout: float = 30.0
) -> tuple[list[Outcome], float]:
    """Every delivery POSTed from `concurrency` threads, each over its own keep-alive connection:
    outcomes in the order of `batch`, and the wall time in seconds. http.client rather than requests:
    the client shares the machine's cores with the gateway, and requests spent about as much CPU per
    delivery as the gateway did, which the figures then charged to the gateway."""
    parts = urlsplit(url)
    host, port, path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path or "/"
    local = threading.local()
    connections: list[http.client.HTTPConnection] = []
    lock = threading.Lock()

    def connection(fresh: bool = False) -> http.client.HTTPConnection:
        conn = getattr(local, "conn", None)
        if conn is not None and fresh:
            conn.close()
        if conn is None or fresh:
            conn = local.conn = http.client.HTTPConnection(host, port, timeout=timeout)
            with lock:
                connections.append(conn)
        return conn

    def exchange(conn: http.client.HTTPConnection, delivery: Delivery) -> tuple[int, bytes]:
        headers = {"content-type": delivery.content_type}
        if delivery.signature is not None:
            headers["intuit-signature"] = delivery.signature
        conn.request("POST", path, body=delivery.body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()

    def send(delivery: Delivery) -> Outcome:
        reused = getattr(local, "conn", None) is not None
        began = time.perf_counter()
        try:
            try:
                status, text = exchange(connection(), delivery)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                if not reused:
                    raise
                began = time.perf_counter()  # the server closed an idle keep-alive connection: reconnect
                status, text = exchange(connection(fresh=True), delivery)
        except (OSError, http.client.HTTPException) as exc:
            connection(fresh=True)
            return Outcome(None, time.perf_counter() - began, None, f"{type(exc).__name__}: {exc}")
        seconds = time.perf_counter() - began
        try:
            answer = json.loads(text)
        except ValueError:
            answer = None
        unexpected = status != delivery.expected
        body = text[:500].decode("utf-8", "replace") if unexpected else None
        return Outcome(status, seconds, answer if isinstance(answer, dict) else None, body)

    began = time.perf_counter()
    try:
        with ThreadPoolExecutor(concurrency, thread_name_prefix="webhook-load") as pool:
            outcomes = list(pool.map(send, batch))
    finally:
        for conn in connections:
            conn.close()
    return outcomes, time.perf_counter() - began


@dataclass
class Verdict:
    deliveries: int = 0
    posted: Counter[str] = field(default_factory=Counter)  # deliveries by kind
    statuses: Counter[int | None] = field(default_factory=Counter)
    unexpected: Counter[str] = field(default_factory=Counter)  # "kind: expected -> got"
    lost: int = 0  # no HTTP answer
    expected_events: int = 0  # distinct events in valid deliveries
    stored_rows: int = 0
    stored_reported: int = 0  # the sum of "stored" over the 200 answers
    received_reported: int = 0  # the sum of "received" over the 200 answers
    missing: int = 0  # valid events not in the store
    bad_stored: int = 0  # events of refused deliveries found in the store
    foreign: int = 0  # stored events no delivery carried
    twice: int = 0  # event keys stored more than once
    errors: list[str] = field(default_factory=list)  # a few unexpected answers, verbatim
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def rejected(self) -> int:
        return self.statuses[401]

    @property
    def duplicates_absorbed(self) -> int:
        """Events accepted (200) more often than once that the store did not take again."""
        return self.received_reported - self.stored_rows


def verify(batch: Sequence[Delivery], outcomes: Sequence[Outcome], engine: Engine) -> Verdict:
    """Each delivery's answer against what it should have been, and the store against the deliveries."""
    verdict = Verdict(deliveries=len(batch), posted=Counter(d.kind for d in batch))
    expected: set[str] = set()
    refused: set[str] = set()
    for delivery, outcome in zip(batch, outcomes, strict=True):
        (expected if delivery.valid else refused).update(delivery.keys)
        verdict.statuses[outcome.status] += 1
        if outcome.status is None:
            verdict.lost += 1
        if outcome.status != delivery.expected:
            verdict.unexpected[f"{delivery.kind}: {delivery.expected} -> {outcome.status}"] += 1
            if len(verdict.errors) < 5:
                verdict.errors.append(f"{outcome.status}: {outcome.error}")
        elif outcome.status == 200:
            answer = outcome.answer or {}
            verdict.received_reported += int(answer.get("received", 0))
            verdict.stored_reported += int(answer.get("stored", 0))
            if answer.get("received") != len(delivery.keys):
                verdict.unexpected[f"{delivery.kind}: received {answer.get('received')}"] += 1
    refused -= expected  # (never the case: refused deliveries carry events of their own)
    with engine.connect() as conn:
        stored = dict(
            conn.execute(
                select(webhook_events.c.event_key, func.count()).group_by(webhook_events.c.event_key)
            ).all()
        )
    keys = set(stored)
    verdict.expected_events = len(expected)
    verdict.stored_rows = sum(stored.values())
    verdict.missing = len(expected - keys)
    verdict.bad_stored = len(refused & keys)
    verdict.foreign = len(keys - expected - refused)
    verdict.twice = sum(1 for n in stored.values() if n > 1)

    problems = verdict.problems
    if verdict.lost:
        problems.append(f"{verdict.lost} deliveries got no answer")
    if verdict.unexpected:
        problems.append(
            "unexpected answers: " + ", ".join(f"{k} x{n}" for k, n in verdict.unexpected.items())
        )
    for count, what in (
        (verdict.missing, "valid events are not in the store"),
        (verdict.bad_stored, "events of refused deliveries were stored"),
        (verdict.foreign, "stored events came from no delivery"),
        (verdict.twice, "events were stored more than once"),
    ):
        if count:
            problems.append(f"{count} {what}")
    if verdict.stored_rows != verdict.expected_events and not verdict.missing:
        problems.append(f"{verdict.stored_rows} rows stored for {verdict.expected_events} distinct events")
    if not verdict.unexpected and verdict.stored_reported != verdict.expected_events:
        problems.append(
            f"the answers report {verdict.stored_reported} events stored, "
            f"but the deliveries carried {verdict.expected_events} distinct ones"
        )
    return verdict


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p% of the values at or below it."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]
