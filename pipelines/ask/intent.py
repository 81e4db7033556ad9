"""`QboIntent`: what an agent (or `qbo ask`) may ask of QBO, as one structured, validated request (seed §11).

The model is the contract: its JSON schema (`intent_schema()`) is what an orchestrator's tool call
fills in, and validation is the first guardrail: an operation outside the allowlist, a page over
QBO's 1,000, an inverted range or a write without its record is refused here, with the field named.

On the wire (tool calls, a model's answer, `qbo ask --json`, the audit log) the names are the spec's
(§11.1): `operation`, `filters.customerName`, `filters.status`, `filters.dateFrom`/`dateTo`,
`filters.minAmount`/`maxAmount`, `pagination.page`/`pageSize`. What this project adds is named in the
same camelCase (`filters.vendorName`, `filters.docNumber`, `filters.qboId`, `filters.dueFrom`/`dueTo`,
`filters.minDaysPastDue`/`maxDaysPastDue`, `filters.agingBucket`, `aggregate`, `groupBy`, `orderBy`,
`orderDirection`, `top`, `realmId`, `record`). Python code uses the attributes (`filters.customer_name`);
`from_wire` takes the spec's names only, and `wire()` gives them.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

SCHEMA_ID = "qbo-elt/ask/QboIntent"  # the spec's https://example.com/schemas/QboIntent.json, in this project
READS = ("LIST_INVOICES", "GET_INVOICE", "LIST_CUSTOMERS", "GET_CUSTOMER", "LIST_PAYMENTS", "LIST_BILLS")
WRITES = ("CREATE_INVOICE", "CREATE_BILL")
Operation = Literal[READS + WRITES]  # type: ignore[valid-type]
# what each operation reads or writes
ENTITY = {
    "LIST_INVOICES": "Invoice",
    "GET_INVOICE": "Invoice",
    "LIST_CUSTOMERS": "Customer",
    "GET_CUSTOMER": "Customer",
    "LIST_PAYMENTS": "Payment",
    "LIST_BILLS": "Bill",
    "CREATE_INVOICE": "Invoice",
    "CREATE_BILL": "Bill",
}
# open and unpaid are one thing: something is still owed (Balance > 0), whatever the invoice's total
Status = Literal["open", "unpaid", "overdue", "paid", "voided"]
STATUSES: tuple[str, ...] = get_args(Status)
# any case is taken ("Open", as the spec's example has it); the schema lists the usual spellings
_STATUS_SCHEMA = {
    "anyOf": [
        {"type": "string", "enum": [v for s in STATUSES for v in (s, s.title(), s.upper())]},
        {"type": "null"},
    ]
}


def _number(value: Decimal) -> int | float | str:
    """An amount as a JSON number (the spec's type), exactly: a whole one as an int, else a float that
    reads back as the same decimal; an amount no float holds exactly stays a string."""
    if value == value.to_integral_value() and value.adjusted() < 18:
        return int(value)
    as_float = float(value)
    return as_float if Decimal(repr(as_float)) == value else str(value)


Amount = Annotated[Decimal, PlainSerializer(_number, when_used="json")]
MAX_AMOUNT = Decimal("1e13")
MAX_TOP = 100  # a ranking shows at most this many groups
MAX_DAYS_PAST_DUE = 36_500  # a hundred years late: past any real receivable
# the aging buckets of finance_ar_aging, as days past due (DueDate, else TxnDate, before today): (least, most)
AGING_BUCKETS: dict[str, tuple[int, int | None]] = {
    "current": (0, 0),
    "1-30": (1, 30),
    "31-60": (31, 60),
    "61-90": (61, 90),
    "over 90": (91, None),
}
AgingBucket = Literal["current", "1-30", "31-60", "61-90", "over 90"]
Aggregate = Literal["sum", "count", "avg"]
GroupBy = Literal["customer", "vendor", "month"]
# groups rank by a measure or by their key; rows by an amount or a date
GROUP_ORDERS = ("total", "count", "average", "group")
ROW_ORDERS = ("amount", "balance", "txnDate", "dueDate")
OrderBy = Literal[GROUP_ORDERS + ROW_ORDERS]  # type: ignore[valid-type]
MAX_PAGE = 100_000  # 100,000 pages of 1,000 rows: past any company's records, and QBO's STARTPOSITION
# a draft's record is a few named values (drafts.py reads them): flat, short, and few
RECORD_KEYS, RECORD_KEY_LENGTH, RECORD_TEXT_LENGTH = 20, 64, 4000


class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,  # the wire names: customer_name <-> customerName
        validate_by_name=True,  # Python code may keep the attribute names
        validate_by_alias=True,
        serialize_by_alias=True,
        field_title_generator=lambda name, _info: name.replace("_", " ").title(),
    )


class Filters(_Strict):
    customer_name: str | None = Field(None, min_length=1, max_length=100, description="as QBO's DisplayName")
    vendor_name: str | None = Field(None, min_length=1, max_length=100, description="as QBO's DisplayName")
    status: Annotated[Status | None, WithJsonSchema(_STATUS_SCHEMA)] = Field(
        None,
        description="any case; open/unpaid/overdue: Balance > 0 (overdue: past DueDate); paid: Balance = 0",
    )
    date_from: date | None = Field(None, description="TxnDate on or after")
    date_to: date | None = Field(None, description="TxnDate on or before")
    # QBO amounts have at most 2 decimals and stay below a trillion: anything else cannot match a record
    min_amount: Amount | None = Field(
        None, ge=0, lt=MAX_AMOUNT, decimal_places=2, description="TotalAmt at least"
    )
    max_amount: Amount | None = Field(
        None, ge=0, lt=MAX_AMOUNT, decimal_places=2, description="TotalAmt at most"
    )
    doc_number: str | None = Field(None, min_length=1, max_length=21)
    qbo_id: str | None = Field(None, pattern=r"^\d{1,20}$", description="the QBO Id, for GET_*")
    due_from: date | None = Field(None, description="DueDate on or after (invoices and bills)")
    due_to: date | None = Field(None, description="DueDate on or before (invoices and bills)")
    # days past due as finance_ar_aging counts them: today (the realm's) minus DueDate (else TxnDate), at
    # least 0; any of these means money is still owed (Balance > 0)
    min_days_past_due: int | None = Field(
        None, ge=0, le=MAX_DAYS_PAST_DUE, description="still owed, and at least this many days past DueDate"
    )
    max_days_past_due: int | None = Field(
        None, ge=0, le=MAX_DAYS_PAST_DUE, description="still owed, and at most this many days past DueDate"
    )
    aging_bucket: AgingBucket | None = Field(
        None,
        description="still owed, in finance_ar_aging's bucket: current (not yet past due), 1-30, 31-60, "
        "61-90 or over 90 days past DueDate; instead of min/maxDaysPastDue",
    )

    @field_validator("status", mode="before")
    @classmethod
    def _any_case(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _ranges(self) -> Filters:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("dateFrom is after dateTo")
        if self.min_amount is not None and self.max_amount is not None and self.min_amount > self.max_amount:
            raise ValueError("minAmount is above maxAmount")
        if self.due_from and self.due_to and self.due_from > self.due_to:
            raise ValueError("dueFrom is after dueTo")
        low, high = self.min_days_past_due, self.max_days_past_due
        if low is not None and high is not None and low > high:
            raise ValueError("minDaysPastDue is above maxDaysPastDue")
        if self.aging_bucket and (low is not None or high is not None):
            raise ValueError(
                "agingBucket is a range of days past due: give it or min/maxDaysPastDue, not both"
            )
        if self.status in ("paid", "voided") and self.past_due_days != (None, None):
            raise ValueError(f"days past due are of money still owed, not of {self.status} records")
        return self

    @property
    def past_due_days(self) -> tuple[int | None, int | None]:
        """The least and most days past due asked for, from the bucket or the bounds."""
        if self.aging_bucket:
            return AGING_BUCKETS[self.aging_bucket]
        return self.min_days_past_due, self.max_days_past_due


class Pagination(_Strict):
    page: int = Field(
        1, ge=1, le=MAX_PAGE, description="from 1: page N is rows (N-1)*pageSize+1 .. N*pageSize"
    )
    page_size: int = Field(100, ge=1, le=1000, description="QBO answers at most 1,000 rows a page")

    @property
    def start(self) -> int:
        """The first row, from 1: QBO's STARTPOSITION."""
        return (self.page - 1) * self.page_size + 1


class QboIntent(_Strict):
    operation: Operation
    filters: Filters = Field(default_factory=Filters)
    aggregate: Aggregate | None = Field(
        None,
        description="instead of rows: a count, a sum or an average (avg) of the amount; the amount is "
        "Balance (what is still owed) when the status is open/unpaid/overdue or days past due are asked, "
        "else TotalAmt (a customer's Balance for LIST_CUSTOMERS). Over every matching record:"
        " no default window",
    )
    group_by: GroupBy | None = Field(
        None,
        description="with aggregate: one row per customer (invoices, payments), vendor (bills) or month of "
        "TxnDate, each with count, total and average",
    )
    order_by: OrderBy | None = Field(
        None,
        description="groups: total, count, average or group (the customer, vendor or month); rows: amount "
        "(TotalAmt), balance, txnDate or dueDate. Default: groups by the aggregate (months by month), rows "
        "by txnDate",
    )
    order_direction: Literal["asc", "desc"] | None = Field(
        None, description="default: desc, except months and names (asc)"
    )
    top: int | None = Field(
        None, ge=1, le=MAX_TOP, description=f"with groupBy: the first N groups (at most {MAX_TOP})"
    )
    pagination: Pagination = Field(default_factory=Pagination)
    realm_id: str | None = Field(None, pattern=r"^\d{1,20}$", description="absent: the caller's only realm")
    record: dict[str, Any] | None = Field(
        None,
        description=(
            "CREATE_*: what to draft, as flat values: customerName (invoice) or vendorName (bill), and "
            "either amount or quantity with unitPrice (the line is quantity x unitPrice), optionally "
            "itemName, description, dueDate (else from the party's terms); it goes to the approval "
            "queue, never straight to QBO"
        ),
    )

    @field_validator("record")
    @classmethod
    def _flat_record(cls, record: dict[str, Any] | None) -> dict[str, Any] | None:
        """A record is a few named values: no nesting, no book-length text, for the queue and the audit."""
        if record is None:
            return None
        if len(record) > RECORD_KEYS:
            raise ValueError(f"has {len(record)} fields: a draft takes at most {RECORD_KEYS}")
        for key, value in record.items():
            if len(key) > RECORD_KEY_LENGTH:
                raise ValueError(f"a field name is over {RECORD_KEY_LENGTH} characters: {key[:20]!r}...")
            if isinstance(value, dict | list):
                raise ValueError(f"{key}: must be a text, a number or true/false, not a list or object")
            if isinstance(value, str) and len(value) > RECORD_TEXT_LENGTH:
                raise ValueError(f"{key}: is over {RECORD_TEXT_LENGTH:,} characters")
        return record

    @model_validator(mode="after")
    def _shape(self) -> QboIntent:
        if self.operation in WRITES:
            if self.record is None:
                raise ValueError(f"{self.operation} needs `record`: the invoice or bill to create")
            if self.aggregate or self.group_by or self.order_by or self.top:
                raise ValueError("a write has no aggregate, groupBy, orderBy or top")
        elif self.record is not None:
            raise ValueError(f"{self.operation} is a read: `record` is only for CREATE_*")
        self._ranking()
        if self.operation.startswith("GET_") and not (
            self.filters.qbo_id or self.filters.doc_number or self.filters.customer_name
        ):
            raise ValueError(
                f"{self.operation} needs filters.qboId, filters.docNumber or filters.customerName"
            )
        return self

    def _ranking(self) -> None:
        """groupBy, orderBy and top make sense together only in certain ways: say which field is off."""
        if self.group_by:
            if not self.aggregate:
                raise ValueError("groupBy needs aggregate (sum, count or avg) to say what each group shows")
            if self.operation not in ("LIST_INVOICES", "LIST_PAYMENTS", "LIST_BILLS"):
                raise ValueError(
                    f"groupBy applies to LIST_INVOICES, LIST_PAYMENTS or LIST_BILLS, not {self.operation}"
                )
            party = "vendor" if self.operation == "LIST_BILLS" else "customer"
            if self.group_by in ("customer", "vendor") and self.group_by != party:
                raise ValueError(
                    f"groupBy: {self.entity} records group by {party} or month, not {self.group_by}"
                )
            if self.order_by and self.order_by not in GROUP_ORDERS:
                raise ValueError(f"orderBy: groups order by {', '.join(GROUP_ORDERS)}, not {self.order_by}")
        else:
            if self.top:
                raise ValueError(
                    "top counts groups: it needs groupBy (rows are limited by pagination.pageSize)"
                )
            if self.order_by and (self.aggregate or self.order_by not in ROW_ORDERS):
                raise ValueError(f"orderBy: rows order by {', '.join(ROW_ORDERS)}; a total has no order")
            if self.order_by and self.operation in ("LIST_CUSTOMERS", "GET_CUSTOMER", "GET_INVOICE"):
                raise ValueError(
                    f"orderBy applies to LIST_INVOICES, LIST_PAYMENTS or LIST_BILLS, not {self.operation}"
                )
        if self.order_direction and not self.order_by and not self.group_by:
            raise ValueError("orderDirection needs orderBy")

    @classmethod
    def from_wire(cls, data: Any) -> QboIntent:
        """An intent as a tool call sends it: the spec's names only (`filters.customer_name` is refused)."""
        return cls.model_validate(data, by_alias=True, by_name=False)

    @classmethod
    def from_wire_json(cls, text: str | bytes) -> QboIntent:
        return cls.model_validate_json(text, by_alias=True, by_name=False)

    def wire(self, **exclude: bool) -> dict[str, Any]:
        """The intent as JSON, in the spec's names: what is shown, answered and audited."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True, **exclude)

    def wire_json(self, **exclude: bool) -> str:
        return self.model_dump_json(by_alias=True, exclude_none=True, **exclude)

    @property
    def entity(self) -> str:
        return ENTITY[self.operation]

    @property
    def is_write(self) -> bool:
        return self.operation in WRITES


def intent_schema() -> dict[str, Any]:
    """The JSON schema an orchestrator's tool definition carries, in the spec's names."""
    body = QboIntent.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **body}
