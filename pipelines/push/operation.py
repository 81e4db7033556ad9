"""One outbound record on its way to QBO: its row and lines, what the plan decided, what it still needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipelines.mapping.payloads import payload


@dataclass
class Operation:
    entity: str
    row: dict[str, Any]  # the outbound row (QBO columns)
    lines: list[dict[str, Any]]
    status: str = "send"  # send | approval | invalid | waiting | done | refused
    error: dict[str, Any] | None = None  # the error DTO of an invalid one
    # references created earlier in this push: (entity, platform id, QBO column, platform-id column)
    needs: list[tuple[str, str, str, str]] = field(default_factory=list)
    synced: dict[str, str | None] = field(default_factory=dict)  # last synced normalised values (updates)

    @property
    def key(self) -> tuple[str, str, str]:
        return self.entity, self.row["tenant_id"], self.row["platform_id"]

    @property
    def realm_id(self) -> str:
        return self.row["realm_id"]

    @property
    def operation(self) -> str:
        return self.row["operation"]

    def body(self, links: dict[tuple[str, str, str], str]) -> dict[str, Any]:
        """The payload, with references created earlier in this push filled in."""
        row = dict(self.row)
        lines = [dict(line) for line in self.lines]
        for entity, platform_id, column, platform_column in self.needs:
            qbo_id = links.get((entity, row["tenant_id"], platform_id))
            for target in [row, *lines]:
                if target.get(column) is None and target.get(platform_column) == platform_id:
                    target[column] = qbo_id
        return payload(self.entity, row, lines)
