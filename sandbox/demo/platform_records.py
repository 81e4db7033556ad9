"""The demo platform: integration DTOs that overlap a sandbox company, and the record of what differs.

The sandbox's company (same profile, seed and day) is read back and mirrored through the mapping
spec, QBO -> platform, so a mirrored record compares equal. Then differences are planted, each one
written down in `planted.json`: linked records; unlinked ones a person should match (cosmetic
differences only); platform-only records to create in QBO; QBO-only records; drift on each side
(who changed is told by the SyncToken and times the platform remembers of the last sync); true
conflicts (both sides changed); pending destructive operations; records the contract refuses; and
edge cases (unicode, names over 100 characters, no e-mail, not taxable, partial payments, voids).
Tests compare the dbt models with that record.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from pydantic import ValidationError

from pipelines.mapping.order import ORDER
from pipelines.mapping.policy import MasteringPolicy
from sandbox.demo.mirror import Mirror, qbo_documents
from sandbox.demo.planting import Planted, Planter
from sandbox.demo.platform_only import plant_platform_only
from sandbox.demo.sink import Sink
from sandbox.generator import populate
from sandbox.store import Realm, Store
from sources.platform.dto import MODELS


def qbo_company(company: str, seed: int, realm_id: str, tz: str, anchor: date | None = None) -> Store:
    """The sandbox company as `qbo sandbox` builds it (the same documents, ids and times)."""
    store = Store()
    realm = Realm(realm_id, company, seed, tz)
    store.add_realm(realm, time.time())
    populate(store, realm, company, seed, anchor=anchor)
    return store


@dataclass
class Generated:
    planted: Planted
    paths: dict[str, Path]  # per entity, and "planted"


def generate(
    store: Store,
    realm_id: str,
    out: Path,
    tenant_id: str = "demo-tenant",
    seed: int = 1,
    as_of: date | None = None,
    policy: MasteringPolicy | None = None,
) -> Generated:
    """Platform records for the company in `store`, written to `out` as JSONL files of the DTOs, with
    planted differences and their record (planted.json)."""
    today = as_of or datetime.now(UTC).date()
    policy = policy or MasteringPolicy()
    mirror = Mirror(store, realm_id, today)
    planted = Planted(tenant_id, realm_id, today.isoformat())
    plant = Planter(planted, policy, tenant_id, realm_id, seed, today, terms=mirror.terms)
    sink = Sink(out)
    try:
        for entity in ORDER:
            plant.entity(entity, qbo_documents(store, realm_id, entity), mirror, sink)
        plant_platform_only(plant, sink)
    finally:
        sink.close()
    planted.counts = dict(sink.counts)
    paths = {**sink.paths, "planted": out / "planted.json"}
    paths["planted"].write_text(json.dumps(planted.__dict__, indent=1, ensure_ascii=False), encoding="utf-8")
    return Generated(planted, paths)


def check(generated: Generated) -> list[str]:
    """Every record written but the planted refusals passes its DTO: the demo must not refuse by accident."""
    refused = {(r["entity"], r["record_id"]) for r in generated.planted.rejected}
    problems = []
    for entity in ORDER:
        with generated.paths[entity].open(encoding="utf-8") as lines:
            for line in lines:
                row = json.loads(line)
                if (entity, row["id"]) in refused:
                    continue
                try:
                    MODELS[entity].model_validate(row)
                except ValidationError as exc:
                    first = exc.errors()[0]
                    problems.append(f"{entity} {row['id']}: {first['msg']} at {first['loc']}")
    return problems
