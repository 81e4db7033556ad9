"""`QboIntent`: what an agent (or `qbo ask`) may ask of QBO, as one structured, validated request (seed §11).

The model is the contract: its JSON schema (`intent_schema()`) is what an orchestrator's tool call
fills in, and validation is the first guardrail: an operation outside the allowlist, a page over
QBO's 1,000, an inverted range or a write without its record is refused here, with the field named.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

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


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Filters(_Strict):
    customer_name: str | None = Field(None, min_length=1, max_length=100, description="as QBO's DisplayName")
    vendor_name: str | None = Field(None, min_length=1, max_length=100, description="as QBO's DisplayName")
    status: Status | None = Field(None, description="open/unpaid: Balance > 0; paid: Balance = 0")
    date_from: date | None = Field(None, description="TxnDate on or after")
    date_to: date | None = Field(None, description="TxnDate on or before")
    amount_min: Decimal | None = Field(None, ge=0, description="TotalAmt at least")
    amount_max: Decimal | None = Field(None, ge=0, description="TotalAmt at most")
    doc_number: str | None = Field(None, min_length=1, max_length=21)
    qbo_id: str | None = Field(None, pattern=r"^\d{1,20}$", description="the QBO Id, for GET_*")

    @model_validator(mode="after")
    def _ranges(self) -> Filters:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("date_from is after date_to")
        if self.amount_min is not None and self.amount_max is not None and self.amount_min > self.amount_max:
            raise ValueError("amount_min is above amount_max")
        return self


class Page(_Strict):
    size: int = Field(100, ge=1, le=1000, description="QBO answers at most 1,000 rows a page")
    start: int = Field(1, ge=1, description="1-based, as QBO's STARTPOSITION")


class QboIntent(_Strict):
    operation: Operation
    filters: Filters = Field(default_factory=Filters)
    aggregate: Literal["sum", "count"] | None = Field(
        None, description="sum of TotalAmt, or a count, instead of rows: 'how much did X pay'"
    )
    page: Page = Field(default_factory=Page)
    realm_id: str | None = Field(None, pattern=r"^\d{1,20}$", description="absent: the caller's only realm")
    record: dict[str, Any] | None = Field(
        None, description="CREATE_*: the platform DTO to create; it goes to the approval queue, not to QBO"
    )

    @model_validator(mode="after")
    def _shape(self) -> QboIntent:
        if self.operation in WRITES:
            if self.record is None:
                raise ValueError(f"{self.operation} needs `record`: the invoice or bill to create")
            if self.aggregate:
                raise ValueError("a write has no aggregate")
        elif self.record is not None:
            raise ValueError(f"{self.operation} is a read: `record` is only for CREATE_*")
        if self.operation.startswith("GET_") and not (
            self.filters.qbo_id or self.filters.doc_number or self.filters.customer_name
        ):
            raise ValueError(f"{self.operation} needs filters.qbo_id, doc_number or a name")
        return self

    @property
    def entity(self) -> str:
        return ENTITY[self.operation]

    @property
    def is_write(self) -> bool:
        return self.operation in WRITES


def intent_schema() -> dict[str, Any]:
    """The JSON schema an orchestrator's tool definition carries."""
    return QboIntent.model_json_schema()
