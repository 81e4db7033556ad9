"""A read intent as the two queries that answer it: QBO's query language and parametrised warehouse SQL.

Both say the same thing. Open and unpaid mean something is still owed (`Balance > '0'`), never an
amount: the seed's example that filters "unpaid over $1,000" on Balance conflates the two; amounts
are on `TotalAmt`, dates on `TxnDate`, due dates and days past due on `DueDate` (owed.py: one definition
of money owed). A customer or vendor name becomes its `CustomerRef` /
`VendorRef` Id for QBO (QBO cannot filter a transaction by a name) and a join for the warehouse.
Names are data: quoted with QBO's backslash escape, and bound as SQL parameters, never spliced in.
A transaction row list that nothing narrows (no dates, party, document or money owed) gets the default
window of 90 days; a count, total or ranking never does; every answer says in a note which window applied.

The warehouse SQL is one query for a DuckDB file and a PostgreSQL database: the few words the engines
spell differently (folding a name's case and accents, ordering names byte by byte whatever the
database's collation) come from `dialect`, so both warehouses give the same rows in the same order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from pipelines.ask.aggregates import group_sql
from pipelines.ask.intent import QboIntent
from pipelines.ask.owed import Refused, has_due_filter, is_owed, money_owed
from pipelines.runtime.warehouse_sql import Dialect, WarehouseSQL, bytewise, fold
from sources.quickbooks.query_text import quote

DEFAULT_WINDOW = timedelta(days=90)
# a row list's orderBy: (warehouse column, QBO field)
ROW_ORDER = {
    "amount": ("total_amount", "TotalAmt"),
    "balance": ("balance", "Balance"),
    "txnDate": ("txn_date", "TxnDate"),
    "dueDate": ("due_date", "DueDate"),
}
__all__ = ["SHAPES", "Refused", "Shape", "Translation", "qbo_id_by_name", "translate"]


@dataclass(frozen=True)
class Shape:
    table: str  # the staging model
    party: str | None  # Customer | Vendor: whose name filters it
    party_column: str | None
    columns: tuple[str, ...]  # what a row shows
    amount: str  # the column amounts filter on (TotalAmt, or a customer's Balance)
    qbo_amount: str
    dated: bool  # a transaction: has TxnDate
    owed: bool  # has a Balance

    @property
    def row_columns(self) -> list[str]:
        """What a row is called in an answer, from the warehouse or from QBO: the party by its entity."""
        return [self.party.lower() if c == "party" and self.party else c for c in self.columns]


SHAPES = {
    "Invoice": Shape(
        "stg_qbo__invoices", "Customer", "customer",
        ("qbo_id", "doc_number", "party", "txn_date", "due_date", "total_amount", "balance"),
        "total_amount", "TotalAmt", True, True,
    ),
    "Payment": Shape(
        "stg_qbo__payments", "Customer", "customer",
        ("qbo_id", "reference_number", "party", "txn_date", "total_amount", "unapplied_amount"),
        "total_amount", "TotalAmt", True, False,
    ),
    "Bill": Shape(
        "stg_qbo__bills", "Vendor", "vendor",
        ("qbo_id", "doc_number", "party", "txn_date", "due_date", "total_amount", "balance"),
        "total_amount", "TotalAmt", True, True,
    ),
    "Customer": Shape(
        "stg_qbo__customers", None, None,
        ("qbo_id", "display_name", "company_name", "email", "phone", "balance", "active"),
        "balance", "Balance", False, True,
    ),
}  # fmt: skip


@dataclass
class Translation:
    entity: str
    qbo_query: str
    sql: str
    params: list[Any]
    notes: list[str] = field(default_factory=list)
    post_filter: str | None = None  # what QBO's language cannot say, applied to its rows (voided)
    measure: str = "TotalAmt"  # the QBO field a sum or an average adds up, on QBO's rows


def translate(
    intent: QboIntent,
    realm_id: str,
    today: date,
    resolve: Callable[[str, str], str | None],
    dialect: Dialect = "duckdb",
) -> Translation:
    """`resolve(entity, display name)` is the party's QBO Id (None: QBO has no such name); `dialect` is
    the warehouse's engine, which the SQL is written for."""
    if intent.is_write:
        raise Refused(f"{intent.operation} is a write: it goes to the approval queue, not to a query")
    shape = SHAPES[intent.entity]
    f = intent.filters
    qbo: list[str] = []
    sql = ["t.realm_id = ?", "NOT t.is_deleted"]
    params: list[Any] = [realm_id]
    notes: list[str] = []
    post_filter = None

    name = f.vendor_name if shape.party == "Vendor" else f.customer_name
    other = f.customer_name if shape.party == "Vendor" else f.vendor_name
    if other:
        wrong = "customer" if shape.party == "Vendor" else "vendor"
        raise Refused(f"{intent.entity} records are not filtered by {wrong}")
    if shape.party and name:
        party_id = resolve(shape.party, name)
        if party_id is None:
            raise Refused(f"no {shape.party.lower()} named {name!r} in QBO; check the spelling")
        qbo.append(f"{shape.party}Ref = {quote(party_id)}")
        sql.append("p.display_name = ?")
        params.append(name)
    elif shape.party is None and name:  # customers, by name
        exact = intent.operation.startswith("GET_")
        qbo.append(f"DisplayName {'=' if exact else 'LIKE'} {quote(name if exact else f'%{name}%')}")
        folded = partial(fold, dialect=dialect)
        match = "= {}" if exact else "LIKE {} ESCAPE '\\'"  # an accent or a case typed otherwise matches
        sql.append(f"{folded('t.display_name')} {match.format(folded('?'))}")
        params.append(name if exact else f"%{_like_literal(name)}%")
    if f.qbo_id:
        qbo.append(f"Id = {quote(f.qbo_id)}")
        sql.append("t.qbo_id = ?")
        params.append(f.qbo_id)
    if f.doc_number:
        if intent.entity in {"Customer", "Payment"}:
            raise Refused(f"{intent.entity} records have no doc number")
        qbo.append(f"DocNumber = {quote(f.doc_number)}")
        sql.append("t.doc_number = ?")
        params.append(f.doc_number)

    if f.status or has_due_filter(f):
        if not shape.owed:
            raise Refused(f"{intent.entity} records have no balance: a status does not apply")
        if (f.status == "overdue" or has_due_filter(f)) and not shape.dated:
            raise Refused("only invoices and bills have due dates (and can be overdue)")
        owed_qbo, owed_sql, owed_params = money_owed(f, today)
        if f.status == "overdue" or f.past_due_days != (None, None):
            notes.append(f"overdue and days past due are counted as of {today} (DueDate before that day)")
        qbo += owed_qbo
        sql += owed_sql
        params += owed_params
        if f.status == "paid":
            qbo.append("Balance = '0'")
            sql.append("t.balance = 0")
        if f.status == "voided":
            if intent.entity != "Invoice":
                raise Refused("only invoices are voided here")
            qbo.append("TotalAmt = '0'")  # a void zeroes it; QBO cannot query the "Voided" note
            sql.append("t.total_amount = 0 AND coalesce(left(t.private_note, 6) = 'Voided', false)")
            post_filter = "PrivateNote starts with 'Voided'"

    if not shape.dated:  # a name list: the active records, as QBO answers by default
        qbo.append("Active = true")
        sql.append("coalesce(t.active, true)")

    date_from, date_to = f.date_from, f.date_to
    if (date_from or date_to) and not shape.dated:
        raise Refused(f"{intent.entity} records have no transaction date")
    narrowed = bool(name or f.qbo_id or f.doc_number or is_owed(f) or has_due_filter(f))
    notes.append(_window_note(intent, shape, today, narrowed))
    if shape.dated and not (date_from or date_to or narrowed or intent.aggregate):
        date_from = today - DEFAULT_WINDOW
    if date_from:
        qbo.append(f"TxnDate >= {quote(date_from.isoformat())}")
        sql.append("t.txn_date >= ?")
        params.append(date_from)
    if date_to:
        qbo.append(f"TxnDate <= {quote(date_to.isoformat())}")
        sql.append("t.txn_date <= ?")
        params.append(date_to)
    for bound, op in ((f.min_amount, ">="), (f.max_amount, "<=")):
        if bound is not None:
            qbo.append(f"{shape.qbo_amount} {op} {quote(_amount(bound))}")
            sql.append(f"t.{shape.amount} {op} ?")
            params.append(bound)

    measure, qbo_measure = shape.amount, shape.qbo_amount
    if shape.dated and shape.owed and is_owed(f):  # what is still owed, not what was invoiced
        measure, qbo_measure = "balance", "Balance"
    if intent.aggregate in ("sum", "avg") or intent.group_by:
        notes.append(
            f"the total adds up {qbo_measure}" + (" (what is still owed)" if measure == "balance" else "")
        )
    where = f" WHERE {' AND '.join(qbo)}" if qbo else ""
    page = intent.pagination
    if intent.aggregate == "count" and not (intent.group_by or post_filter):
        qbo_query = f"SELECT COUNT(*) FROM {intent.entity}{where}"
    elif intent.aggregate:  # QBO cannot sum or group: every page is read and added up here
        order = " ORDERBY TxnDate DESC" if shape.dated else " ORDERBY DisplayName"
        qbo_query = f"SELECT * FROM {intent.entity}{where}{order} STARTPOSITION 1 MAXRESULTS 1000"
    else:
        qbo_query = (
            f"SELECT * FROM {intent.entity}{where}{_qbo_order(intent, shape)}"
            f" STARTPOSITION {page.start} MAXRESULTS {page.page_size}"
        )
    sql_text = _sql(intent, shape, sql, dialect, measure)
    translation = Translation(intent.entity, qbo_query, sql_text, params, notes, post_filter)
    translation.measure = qbo_measure
    return translation


def _window_note(intent: QboIntent, shape: Shape, today: date, narrowed: bool) -> str:
    """Which TxnDate window the answer covers, said on every answer: a total over 90 days is not one
    over all time, and a reader must be able to tell."""
    f = intent.filters
    if not shape.dated:
        return "window: none (customers have no transaction date)"
    if f.date_from or f.date_to:
        return f"window: TxnDate {f.date_from or 'any'} to {f.date_to or 'any'}, as asked"
    if intent.aggregate:
        return "window: all dates (a total or count is never cut to the list window)"
    if narrowed:
        return "window: all dates (the question narrows the list)"
    return (
        f"window: the last {DEFAULT_WINDOW.days} days of TxnDate (from {today - DEFAULT_WINDOW}): "
        "no date range, party or status given; ask with dates for more"
    )


def _qbo_order(intent: QboIntent, shape: Shape) -> str:
    if not shape.dated:
        return " ORDERBY DisplayName"
    column = ROW_ORDER.get(intent.order_by or "txnDate", ROW_ORDER["txnDate"])
    _check_row_order(intent, shape)
    return f" ORDERBY {column[1]} {(intent.order_direction or 'desc').upper()}"


def _check_row_order(intent: QboIntent, shape: Shape) -> None:
    if intent.order_by and ROW_ORDER[intent.order_by][0] not in shape.columns:
        raise Refused(f"orderBy: {intent.entity} records have no {intent.order_by}")


def _sql(intent: QboIntent, shape: Shape, where: list[str], dialect: Dialect, measure: str) -> str:
    join = ""
    if shape.party:
        join = (
            f" LEFT JOIN staging.stg_qbo__{shape.party.lower()}s p"
            f" ON p.realm_id = t.realm_id AND p.qbo_id = t.{shape.party_column}"
        )
    source = f"FROM staging.{shape.table} t{join} WHERE {' AND '.join(where)}"
    if intent.group_by:
        return group_sql(intent, source, f"t.{measure}", dialect)
    if intent.aggregate == "count":
        return f"SELECT count(*) AS count {source}"
    if intent.aggregate:  # the average is the total over the count, in cents (aggregates.py)
        return f"SELECT count(*) AS count, coalesce(sum(t.{measure}), 0) AS total {source}"
    columns = ", ".join(
        f"p.display_name AS {name}" if c == "party" else f"t.{c}"
        for c, name in zip(shape.columns, shape.row_columns, strict=True)
    )
    if shape.dated:
        _check_row_order(intent, shape)
        column = ROW_ORDER[intent.order_by or "txnDate"][0]
        first = f"t.{column} {(intent.order_direction or 'desc').upper()}"
        if column != "txn_date":
            first += ", t.txn_date DESC"
    else:
        first = bytewise("t.display_name", dialect)
    order = f"{first}, {bytewise('t.qbo_id', dialect)}"
    page = intent.pagination
    return f"SELECT {columns} {source} ORDER BY {order} LIMIT {page.page_size} OFFSET {page.start - 1}"


def qbo_id_by_name(db: WarehouseSQL, entity: str, realm_id: str, name: str) -> str | None:
    """The QBO Id of the live Customer or Vendor with this display name, in the warehouse (any case or
    accent: the name as typed)."""
    found = db.execute(
        f"SELECT qbo_id FROM staging.stg_qbo__{entity.lower()}s WHERE realm_id = ? AND NOT is_deleted "
        f"AND {db.fold('display_name')} = {db.fold('?')} ORDER BY {db.bytewise('qbo_id')} LIMIT 1",
        [realm_id, name],
    ).fetchone()
    return found[0] if found else None


def _amount(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01")), "f")


def _like_literal(text: str) -> str:
    """A name inside ILIKE matches itself: its own % and _ are not wildcards."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
