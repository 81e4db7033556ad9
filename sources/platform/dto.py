"""The platform's integration DTOs: the contract records cross the boundary in (seed §5).

Customer, Invoice and Item follow the seed's JSON schemas; Vendor, Bill and Payment are in the same
style. Wire names are camelCase; every record says which tenant it belongs to, its platform `id`,
and what the platform knows of its QBO twin (`qboId`, the `qboSyncToken` and `lastSyncedAt` of the
last sync), which is how drift and conflicts are told apart later. The JSON schemas under
`schemas/` are emitted from these models (`qbo platform schemas`) and committed.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel

from sources.platform import errors
from sources.platform.errors import detail, field_path, issue_of

CENT = Decimal("0.01")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class FieldError(ValueError):
    """A rule across fields, blamed on one of them so the error DTO can name it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _cents(value: Decimal) -> Decimal:
    if value != value.quantize(CENT):
        raise ValueError("must have at most 2 decimal places (an amount in cents)")
    return value


def _email(value: str | None) -> str | None:
    if value is not None and not EMAIL.match(value.strip()):
        raise ValueError("is not an e-mail address")
    return value


Money = Annotated[
    Decimal, AfterValidator(_cents), PlainSerializer(float, return_type=float, when_used="json")
]
Quantity = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^\S+$")]
Email = Annotated[str | None, AfterValidator(_email)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class Dto(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        frozen=True,
    )


class Address(Dto):
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    region: str | None = Field(None, description="state or province code (QBO CountrySubDivisionCode)")
    postal_code: str | None = None
    country: str | None = None


class PlatformRecord(Dto):
    """What every entity carries: identity, tenancy, the QBO link and the times drift is judged by."""

    entity: ClassVar[str]

    id: Id = Field(description="the platform's id of the record")
    tenant_id: Id
    realm_id: Id | None = Field(
        None, description="the QBO company (realm); when absent, the tenant's connected realm"
    )
    qbo_id: Id | None = Field(None, description="the linked QBO record's Id; null when not linked")
    qbo_sync_token: str | None = Field(None, description="the QBO SyncToken at the last sync")
    last_synced_at: AwareDatetime | None = Field(None, description="when the record was last in sync")
    created_at: AwareDatetime | None = None
    updated_at: AwareDatetime = Field(description="when the platform last changed the record")

    @model_validator(mode="after")
    def _sync_needs_link(self) -> PlatformRecord:
        if self.qbo_id is None and self.qbo_sync_token is not None:
            raise FieldError(
                "qboSyncToken", "is set but qboId is not: a sync token belongs to a linked record"
            )
        return self


class Customer(PlatformRecord):
    entity: ClassVar[str] = "Customer"

    display_name: str = Field(min_length=1, description="the name shown everywhere; unique per company")
    company_name: str | None = None
    contact_name: str | None = Field(None, description="given and family name of the contact person")
    email: Email = None
    phone: str | None = None
    billing_address: Address | None = None
    tax_exempt: bool = False
    payment_terms: str | None = Field(None, description="a QBO term's name, such as 'Net 30'")
    currency: Currency = "USD"
    notes: str | None = None
    active: bool = True


class Vendor(PlatformRecord):
    entity: ClassVar[str] = "Vendor"

    display_name: str = Field(min_length=1)
    company_name: str | None = None
    contact_name: str | None = None
    email: Email = None
    phone: str | None = None
    address: Address | None = None
    account_number: str | None = Field(None, description="the account number the vendor knows us by")
    payment_terms: str | None = None
    is_1099: bool = Field(False, alias="is1099")
    currency: Currency = "USD"
    active: bool = True


class Item(PlatformRecord):
    entity: ClassVar[str] = "Item"

    name: str = Field(min_length=1)
    sku: str | None = None
    type: Literal["Service", "NonInventory", "Inventory"] = "Service"
    description: str | None = None
    unit_price: Quantity | None = Field(None, ge=0)
    purchase_cost: Quantity | None = Field(None, ge=0)
    taxable: bool = False
    income_account_qbo_id: Id | None = Field(
        None, description="the QBO income account (QBO masters accounts); absent: the realm's usual one"
    )
    active: bool = True


class InvoiceLine(Dto):
    line_number: int = Field(ge=1)
    item_id: Id = Field(description="the platform id of the item sold")
    description: str | None = None
    quantity: Quantity = Field(gt=0)
    unit_price: Quantity = Field(ge=0)
    amount: Money
    taxable: bool = False

    @model_validator(mode="after")
    def _amount_is_quantity_times_price(self) -> InvoiceLine:
        expected = (self.quantity * self.unit_price).quantize(CENT)
        if abs(expected - self.amount) > CENT:
            raise FieldError("amount", f"{self.amount} is not quantity x unitPrice ({expected})")
        return self


InvoiceStatus = Literal["draft", "open", "partially_paid", "paid", "overdue", "void"]


class Invoice(PlatformRecord):
    entity: ClassVar[str] = "Invoice"

    doc_number: str | None = Field(None, description="the invoice number customers see")
    customer_id: Id = Field(description="the platform id of the customer billed")
    txn_date: date
    due_date: date | None = None
    currency: Currency = "USD"
    lines: list[InvoiceLine] = Field(min_length=1)
    discount_amount: Money = Field(Decimal(0), ge=0, description="taken off the lines before tax")
    tax_amount: Money = Decimal(0)
    total_amount: Money = Field(description="the lines, less the discount, plus tax")
    balance: Money | None = Field(None, description="what is still owed, as the platform last knew it")
    status: InvoiceStatus = "open"
    memo: str | None = Field(None, description="the message to the customer")
    voided: bool = False

    @model_validator(mode="after")
    def _totals_add_up(self) -> Invoice:
        numbers = [line.line_number for line in self.lines]
        if len(set(numbers)) != len(numbers):
            raise FieldError("lines", "lineNumber repeats")
        if self.due_date is not None and self.due_date < self.txn_date:
            raise FieldError("dueDate", "is before txnDate")
        if not self.voided:
            lines = sum((line.amount for line in self.lines), Decimal(0))
            expected = lines - self.discount_amount + self.tax_amount
            if expected != self.total_amount:
                raise FieldError(
                    "totalAmount",
                    f"{self.total_amount} is not the lines less discountAmount plus taxAmount ({expected})",
                )
        if self.balance is not None and self.balance > self.total_amount:
            raise FieldError("balance", "exceeds totalAmount")
        return self


class BillLine(Dto):
    line_number: int = Field(ge=1)
    description: str | None = None
    amount: Money = Field(ge=0)
    account_qbo_id: Id = Field(description="the QBO expense account (accounts are mastered in QBO)")


class Bill(PlatformRecord):
    entity: ClassVar[str] = "Bill"

    vendor_id: Id = Field(description="the platform id of the vendor")
    doc_number: str | None = None
    txn_date: date
    due_date: date | None = None
    currency: Currency = "USD"
    lines: list[BillLine] = Field(min_length=1)
    total_amount: Money
    balance: Money | None = None
    memo: str | None = None

    @model_validator(mode="after")
    def _total_adds_up(self) -> Bill:
        expected = sum((line.amount for line in self.lines), Decimal(0))
        if expected != self.total_amount:
            raise FieldError("totalAmount", f"{self.total_amount} is not the sum of the lines ({expected})")
        return self


class PaymentApplication(Dto):
    invoice_id: Id = Field(description="the platform id of the invoice paid")
    amount: Money = Field(gt=0)


class Payment(PlatformRecord):
    entity: ClassVar[str] = "Payment"

    customer_id: Id
    txn_date: date
    total_amount: Money = Field(ge=0)
    currency: Currency = "USD"
    payment_method: str | None = None
    reference_number: str | None = None
    applied_to: list[PaymentApplication] = Field(default_factory=list)

    @model_validator(mode="after")
    def _applications_within_total(self) -> Payment:
        applied = sum((a.amount for a in self.applied_to), Decimal(0))
        if applied > self.total_amount:
            raise FieldError("appliedTo", f"adds up to {applied}, more than totalAmount {self.total_amount}")
        return self


MODELS: dict[str, type[PlatformRecord]] = {
    model.entity: model for model in (Customer, Vendor, Item, Invoice, Bill, Payment)
}


def contract_error(entity: str, exc: ValidationError) -> dict[str, Any]:
    """The error DTO for a record the platform sent that the contract refuses, a detail per field."""
    details = []
    for error in exc.errors(include_url=False):
        path: list[str | int] = list(error["loc"])
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, FieldError):
            path.append(cause.field)
        message = str(cause) if isinstance(cause, ValueError) else error["msg"]  # no "Value error, "
        details.append(detail(field_path(path), issue_of(error["type"]), message))
    return errors.error_dto(
        "PLATFORM_VALIDATION_FAILED",
        f"{entity} record refused: {len(details)} field(s) invalid; fix them in the platform and load again",
        details,
    )
