"""A sandbox company's QBO documents as the platform's records of them (pipelines/mapping/inbound.py).

The demo starts from a platform that mirrors the sandbox company exactly (a mirrored record
compares equal), so every difference the tests find is one that was planted on purpose.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

from pipelines.mapping.inbound import LINE_ARRAY, LINE_KEY, InboundReading
from pipelines.mapping.values import get_path
from sandbox.store import Store


def qbo_documents(store: Store, realm_id: str, entity: str) -> Iterator[dict[str, Any]]:
    """The realm's live documents of one entity, in id order (streamed: a company may be large)."""
    cursor = store.execute(
        "SELECT doc FROM entities WHERE realm_id = ? AND entity = ? AND deleted = 0 ORDER BY id",
        (realm_id, entity),
    )
    for (doc,) in cursor:
        yield json.loads(doc)


class Mirror(InboundReading):
    """QBO documents as platform records, field by field through the rendered spec."""

    def __init__(self, store: Store, realm_id: str, as_of: date) -> None:
        # payment terms travel as Term Ids; a payment's method is the PaymentMethod's name
        methods = {d["Id"]: d["Name"] for d in qbo_documents(store, realm_id, "PaymentMethod")}
        super().__init__({"payment_method": methods}, as_of)
        # the realm's payment terms (name -> QBO Id), for the plantings that set or change terms
        self.terms = {d["Name"]: d["Id"] for d in qbo_documents(store, realm_id, "Term")}
        self.linked: set[tuple[str, str]] = set()  # (entity, platform id) of records linked to QBO

    def references_unlinked(self, entity: str, record: dict[str, Any]) -> bool:
        """A record pointing at an unlinked one cannot have been synced: it is unlinked too."""
        spec = self.spec[entity]
        refs = [(f["link"], get_path(record, f["platform_path"])) for f in spec["fields"] if f["link"]]
        lines = spec["lines"]
        if lines is not None:
            for line in record.get(LINE_ARRAY[entity], []):
                if lines["key"]["link"]:
                    refs.append((lines["key"]["link"], line.get(LINE_KEY[entity])))
                refs += [
                    (f["link"], get_path(line, f["platform_path"])) for f in lines["fields"] if f["link"]
                ]
        return any(value is not None and (link, value) not in self.linked for link, value in refs)
