"""A write `qbo ask` drafted, pushed once a person approves it (`qbo approve --draft N`).

It goes through the real-time path, the same as the gateway's: mapping spec, pre-flight, SyncToken,
requestid and the realm's request budget; what QBO answered is kept with the draft.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipelines.push.realtime import RealtimePush
from pipelines.runtime.policy_config import mastering_policy

if TYPE_CHECKING:
    from pipelines.runtime.connector import Connector


def approve_draft(connector: Connector, write_id: int, approved_by: str) -> tuple[int, dict[str, Any]]:
    """A person approves a drafted write: it is pushed now, through the gateway's real-time path (the
    same as `qbo push`); returns the push's HTTP-like status and answer, kept with the draft."""
    row = connector.store.intents.write(write_id)
    if row is None or row["status"] != "pending":
        state = "no such draft" if row is None else f"it is {row['status']}"
        raise LookupError(f"draft #{write_id} cannot be approved: {state}")
    answer = RealtimePush(connector, mastering_policy()).push(row["entity"], row["record"])
    connector.store.intents.settle_write(write_id, answer.status in (200, 201), approved_by, answer.body)
    return answer.status, answer.body
