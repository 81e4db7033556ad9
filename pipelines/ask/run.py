"""Answering an intent: from the warehouse when it is fresh enough, from QBO otherwise; writes to the
approval queue, never to QBO; every call in the audit log (the intent, the query run, where, rows, who).

The warehouse is the DuckDB file or the PostgreSQL database of the settings (`warehouse_target`), read
through `open_warehouse`: the same question gives the same rows on both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.ask.aggregates import finish, from_docs
from pipelines.ask.intent import QboIntent
from pipelines.ask.owed import realm_today
from pipelines.ask.translate import SHAPES, Refused, Translation, qbo_id_by_name, translate
from pipelines.mapping.values import get_path
from pipelines.runtime.warehouse_sql import Dialect, open_warehouse
from pipelines.runtime.warehouse_target import Warehouse, is_postgres
from sources.quickbooks.query_text import quote

if TYPE_CHECKING:
    from pipelines.runtime.connector import Connector

MAX_QBO_PAGES = 100  # pages of 1,000 QBO rows read to add up one answer: past that, narrow the question
FRESH = timedelta(hours=2)  # a warehouse synced this recently answers reads; older: QBO does
QBO_COLUMNS = {  # warehouse column -> QBO path, for rows QBO answers
    "qbo_id": "Id",
    "doc_number": "DocNumber",
    "reference_number": "PaymentRefNum",
    "customer": "CustomerRef.name",
    "vendor": "VendorRef.name",
    "txn_date": "TxnDate",
    "due_date": "DueDate",
    "total_amount": "TotalAmt",
    "balance": "Balance",
    "unapplied_amount": "UnappliedAmt",
    "display_name": "DisplayName",
    "company_name": "CompanyName",
    "email": "PrimaryEmailAddr.Address",
    "phone": "PrimaryPhone.FreeFormNumber",
    "active": "Active",
}


@dataclass
class Answer:
    intent: QboIntent
    ran_on: str  # warehouse | qbo | approval_queue
    realm_id: str | None
    qbo_query: str | None = None
    sql: str | None = None
    params: list[Any] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "intent": self.intent.wire(),
            "qbo_query": self.qbo_query,
            "warehouse_sql": self.sql,
            "params": [_plain(p) for p in self.params],
            "ran_on": self.ran_on,
            "realm_id": self.realm_id,
            "columns": self.columns,
            "rows": [[_plain(v) for v in row] for row in self.rows],
            "notes": self.notes,
        }


def _answer(intent: QboIntent, ran_on: str, realm_id: str, translation: Translation) -> Answer:
    return Answer(
        intent,
        ran_on,
        realm_id,
        translation.qbo_query,
        translation.sql,
        translation.params,
        notes=list(translation.notes),
    )


def _in_cents(answer: Answer) -> Answer:
    """A total is money, in cents whoever added it up (PostgreSQL's sum of no rows is `0` where DuckDB's
    is `0.00`, and QBO's amounts come as `100.5`); averages, months and the top N are finished alike."""
    answer.rows = finish(answer.intent, answer.columns, answer.rows, answer.notes)
    return answer


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


class Asker:
    def __init__(
        self,
        connector: Connector,
        caller: str = "cli",
        fresh: timedelta = FRESH,
        timezone: str | None = None,
    ) -> None:
        """`timezone`: the realm's (IANA name), whose day decides what is overdue; absent: UTC's day."""
        self.connector = connector
        self.caller = caller
        self.fresh = fresh
        self.timezone = timezone

    @property
    def warehouse(self) -> Warehouse:
        """The DuckDB file or the PostgreSQL URL (`Settings.warehouse` alone is only the file)."""
        return self.connector.settings.warehouse_target

    def answer(self, intent: QboIntent, question: str | None = None, today: date | None = None) -> Answer:
        day = today or realm_today(self.timezone)
        realm_id = intent.realm_id or self._only_realm()
        try:
            if intent.is_write:
                result = self._queue_write(intent, realm_id, day)
            else:
                result = self._read(intent, realm_id, day)
        except Refused as exc:
            self._audit(intent, question, realm_id, "refused", None, None, str(exc))
            raise
        query = result.sql if result.ran_on == "warehouse" else result.qbo_query
        self._audit(
            intent, question, realm_id, result.ran_on, query, len(result.rows), "; ".join(result.notes)
        )
        return result

    def _read(self, intent: QboIntent, realm_id: str, today: date) -> Answer:
        if not self._is_fresh(realm_id):
            dialect: Dialect = "postgres" if is_postgres(self.warehouse) else "duckdb"
            translation = translate(intent, realm_id, today, self._qbo_resolver(realm_id), dialect)
            answer = _answer(intent, "qbo", realm_id, translation)
            answer.notes.append("the warehouse is not fresh enough: asked QBO")
            answer.columns, answer.rows = self._from_qbo(intent, realm_id, translation)
            return _in_cents(answer)
        # one connection: on PostgreSQL one snapshot, so the party's Id and the rows agree
        with open_warehouse(self.warehouse) as db:

            def resolve(entity: str, name: str) -> str | None:
                return qbo_id_by_name(db, entity, realm_id, name)

            translation = translate(intent, realm_id, today, resolve, db.dialect)
            answer = _answer(intent, "warehouse", realm_id, translation)
            cursor = db.execute(translation.sql, translation.params)
            answer.columns = [d[0] for d in cursor.description]
            answer.rows = [list(r) for r in cursor.fetchall()]
        return _in_cents(answer)

    def _is_fresh(self, realm_id: str) -> bool:
        if not is_postgres(self.warehouse) and not Path(self.warehouse).exists():
            return False
        last = self.connector.store.runs.last_ok(realm_id)
        return (
            last is not None
            and last.finished_at is not None
            and (
                datetime.now(UTC) - last.finished_at.replace(tzinfo=last.finished_at.tzinfo or UTC)
                <= self.fresh
            )
        )

    def _qbo_resolver(self, realm_id: str) -> Callable[[str, str], str | None]:
        """A party's Id by its display name, asked of QBO (the warehouse is stale)."""

        def resolve(entity: str, name: str) -> str | None:
            rows = (
                self.connector.client(realm_id)
                .query(f"SELECT * FROM {entity} WHERE DisplayName = {quote(name)}")
                .get(entity)
                or []
            )
            return rows[0]["Id"] if rows else None

        return resolve

    def _from_qbo(
        self, intent: QboIntent, realm_id: str, translation: Translation
    ) -> tuple[list[str], list[list[Any]]]:
        client = self.connector.client(realm_id)
        if translation.qbo_query.startswith("SELECT COUNT(*)"):
            return ["count"], [[client.query(translation.qbo_query).get("totalCount", 0)]]
        docs = client.query(translation.qbo_query).get(intent.entity) or []
        pages = 1
        while intent.aggregate and docs and len(docs) % 1000 == 0:  # a full page: there may be more
            if pages >= MAX_QBO_PAGES:
                raise Refused(
                    f"over {MAX_QBO_PAGES * 1000:,} {intent.entity} records to add up from QBO: narrow the "
                    "question (dates, a customer or vendor), or sync the warehouse and ask again"
                )
            text = translation.qbo_query.replace("STARTPOSITION 1 ", f"STARTPOSITION {len(docs) + 1} ")
            page = client.query(text).get(intent.entity) or []
            pages += 1
            if not page:
                break
            docs += page
        if translation.post_filter:
            docs = [d for d in docs if str(d.get("PrivateNote", "")).startswith("Voided")]
        if intent.aggregate:
            return from_docs(intent, docs, translation.measure)
        columns = SHAPES[intent.entity].row_columns
        return columns, [[get_path(doc, QBO_COLUMNS.get(c, c)) for c in columns] for doc in docs]

    def _queue_write(self, intent: QboIntent, realm_id: str, today: date) -> Answer:
        """The DTO the intent stands for, checked like a push; queued for a person, never sent. The
        drafting side (the mapping spec, the platform DTOs) loads only here: a read never needs it."""
        from pipelines.ask.drafts import draft

        dto, error = draft(self.connector, intent, realm_id, today)
        queued, status = self.connector.store.intents.queue_write(
            self.caller, realm_id, intent.entity, dto, error
        )
        if error is None:
            note = f"{intent.operation} drafted and checked; queued for approval (#{queued}), not sent"
        else:
            note = f"{intent.operation} queued as incomplete (#{queued}): {error['message']}"
        return Answer(
            intent,
            "approval_queue",
            realm_id,
            columns=["queued", "status"],
            rows=[[queued, status]],
            notes=[note],
        )

    def _only_realm(self) -> str:
        """The caller's only connected realm, else the warehouse's only one."""
        if self.connector.settings.token_encryption_keys:
            realms = self.connector.realms()
        else:
            with open_warehouse(self.warehouse) as db:
                query = "SELECT DISTINCT realm_id FROM staging.stg_qbo__customers ORDER BY 1"
                realms = [r[0] for r in db.all(query)]
        if len(realms) != 1:
            raise Refused(f"there are realms {', '.join(realms) or 'none'}: say which with --realm")
        return realms[0]

    def _audit(
        self, intent: QboIntent, question: str | None, realm_id: str | None, ran_on: str,
        query: str | None, rows: int | None, note: str | None,
    ) -> None:  # fmt: skip
        self.connector.store.intents.audit(
            caller=self.caller,
            question=question,
            intent=intent.wire(),
            realm_id=realm_id,
            ran_on=ran_on,
            query=query,
            rows=rows,
            note=note or None,
        )
