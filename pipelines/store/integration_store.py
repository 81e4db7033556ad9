"""The integration store: one engine, and one object per table family (each in its own module).

A family's module loads when the family is first used: a question (`qbo ask`) needs three of ten, and
the others bring the mapping spec and the platform DTOs with them.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from pipelines.store.schema import engine_for, metadata

if TYPE_CHECKING:
    from pipelines.store.approvals import Approvals
    from pipelines.store.intents import Intents
    from pipelines.store.outbox import Outbox
    from pipelines.store.push_log import PushLog
    from pipelines.store.references import References
    from pipelines.store.review import Review
    from pipelines.store.runs import IntegrationErrors, SyncRuns
    from pipelines.store.webhook_queue import EventQueue


class IntegrationStore:
    def __init__(self, url: str) -> None:
        self.engine = engine_for(url)
        self._create_tables()

    @cached_property
    def runs(self) -> SyncRuns:
        from pipelines.store.runs import SyncRuns

        return SyncRuns(self.engine)

    @cached_property
    def errors(self) -> IntegrationErrors:
        from pipelines.store.runs import IntegrationErrors

        return IntegrationErrors(self.engine)

    @cached_property
    def events(self) -> EventQueue:
        """One per engine: it serialises SQLite's writers."""
        from pipelines.store.webhook_queue import EventQueue

        return EventQueue(self.engine)

    @cached_property
    def references(self) -> References:
        from pipelines.store.references import References

        return References(self.engine)

    @cached_property
    def push_log(self) -> PushLog:
        from pipelines.store.push_log import PushLog

        return PushLog(self.engine)

    @cached_property
    def approvals(self) -> Approvals:
        from pipelines.store.approvals import Approvals

        return Approvals(self.engine)

    @cached_property
    def intents(self) -> Intents:
        from pipelines.store.intents import Intents

        return Intents(self.engine)

    @cached_property
    def outbox(self) -> Outbox:
        """What QBO changed, for the platform (deliver/)."""
        from pipelines.store.outbox import Outbox

        return Outbox(self.engine)

    @cached_property
    def review(self) -> Review:
        """The review queues and people's decisions."""
        from pipelines.store.review import Review

        return Review(self.engine)

    def _create_tables(self) -> None:
        """Create the tables; processes starting together may race to it, and the loser just retries."""
        for attempt in range(5):
            try:
                metadata.create_all(self.engine, checkfirst=True)
                self._add_new_columns()
                self._add_new_indexes()
                return
            except DBAPIError as exc:
                if (
                    not any(s in str(exc.orig) for s in ("already exists", "duplicate column"))
                    or attempt == 4
                ):
                    raise

    def _add_new_indexes(self) -> None:
        """A store made by an earlier version gets the indexes added since (the retention job's)."""
        existing = inspect(self.engine)
        for table in metadata.sorted_tables:
            have = {index["name"] for index in existing.get_indexes(table.name)}
            for index in table.indexes:
                if index.name not in have:
                    index.create(self.engine, checkfirst=True)

    def _add_new_columns(self) -> None:
        """A store made by an earlier version gets the nullable columns added since (an additive
        migration: nothing is dropped or rewritten, so no state is lost)."""
        existing = inspect(self.engine)
        for table in metadata.sorted_tables:
            have = {c["name"] for c in existing.get_columns(table.name)}
            for column in table.columns:
                if column.name not in have and column.nullable and not column.primary_key:
                    kind = column.type.compile(dialect=self.engine.dialect)
                    with self.engine.begin() as conn:
                        conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}'))
