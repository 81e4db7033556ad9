"""The platform's integration DTOs: the contract records cross the boundary in (SPEC §5 and §4.2).

Customer, Invoice and Item are the spec's JSON schemas (§5.1-5.3), field for field; Vendor, Bill and
Payment carry the platform fields of the §4.2 mapping tables in the same style; Account and Employee
are QBO-mastered (§9.1) and only ever delivered to the platform. Wire names are camelCase.

What qbo-elt needs beyond the spec is a documented extension, never a rename: `tenantId` and `realmId`
(which company; the gateway fills `tenantId` from a key bound to one tenant), `qboSyncToken` and
`lastSyncedAt` (what the platform knew of its QBO twin at the last sync, which tells drift from a
conflict), `createdAt`/`updatedAt` on every entity, `lineNumber` and `amount` on lines (the line's
place and its money; both computed when absent), `discountAmount`/`taxAmount` on invoices, and a few
QBO fields the spec leaves out (`currency`, `notes`, `active`, ...). They are marked in the JSON
schemas (`qbo platform schemas`, committed under `schemas/`, with the spec's `$id`s).

Ids are in the platform's id space and resolve through the mappings (`customerId`, `itemId`, ...).
QBO-mastered list records (accounts, terms, tax codes) are identified by their QBO Id on both sides:
the `id` of a delivered Account DTO is what `incomeAccountId` or `expenseAccountId` carries.

Numbers are bounded to what QBO and the warehouse hold (`Bound`): amounts below 10^13 in cents,
quantities and prices below 10^12 with 6 decimals, never NaN or Infinity, never negative. Names are not
blank and hold no control character; a customer's, vendor's or item's name holds no ':'.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal, localcontext
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    computed_field,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from sources.platform import errors
from sources.platform.bounds import MONEY, QUANTITY
from sources.platform.errors import detail, field_path, issue_of

CENT = Decimal("0.01")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class FieldError(ValueError):
    """A rule across fields, blamed on one of them so the error DTO can name it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _email(value: str | None) -> str | None:
    if value is not None and not EMAIL.match(value.strip()):
        raise ValueError("is not an e-mail address")
    return value


def _controls(value: str, allowed: str = "") -> str:
    """Control characters (NUL, ESC, DEL, the C1 range) break the stores (PostgreSQL takes no NUL) and
    QBO's XML; free text keeps its tabs and line breaks. A lone surrogate pydantic refuses itself."""
    for at, char in enumerate(value):
        if char not in allowed and unicodedata.category(char) == "Cc":
            raise PydanticCustomError(
                "control_character",
                "contains the control character U+{code} at position {at}: remove it",
                {"code": f"{ord(char):04X}", "at": at},
            )
    return value


def _name(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("blank", "is blank: give a name with letters or digits, or leave it out")
    return _controls(value)


def _no_colon(why: str) -> Any:
    def check(value: str) -> str:
        if ":" in value:
            raise PydanticCustomError("bad_format", f"must not contain ':' ({why})")
        return value

    return AfterValidator(check)


JSON_FLOAT = PlainSerializer(float, return_type=float, when_used="json")
MONEY_CHECKS = (BeforeValidator(MONEY.finite), AfterValidator(MONEY.check), MONEY, JSON_FLOAT)
QUANTITY_CHECKS = (BeforeValidator(QUANTITY.finite), AfterValidator(QUANTITY.check), QUANTITY, JSON_FLOAT)
# No money field takes a negative: a discount is a positive amount taken off (discountAmount,
# discountPercent) and a credit is QBO's CreditMemo, not a negative invoice. The sign sits in the type,
# ahead of the checks, so that it reaches the JSON schema of an optional field too.
Money = Annotated[Decimal, Field(ge=0), *MONEY_CHECKS]
PositiveMoney = Annotated[Decimal, Field(gt=0), *MONEY_CHECKS]
Quantity = Annotated[Decimal, Field(ge=0), *QUANTITY_CHECKS]
PositiveQuantity = Annotated[Decimal, Field(gt=0), *QUANTITY_CHECKS]
Percent = Annotated[Decimal, Field(ge=0, le=100), *QUANTITY_CHECKS]
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\s\x00-\x1f\x7f-\x9f]+$")]
Email = Annotated[str | None, AfterValidator(_email)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
Name = Annotated[str, AfterValidator(_name)]  # not blank, no control characters
Line = Annotated[str, AfterValidator(_controls)]  # one line of text: a phone, a number, an address line
Text = Annotated[str, AfterValidator(lambda v: _controls(v, "\t\n\r"))]  # free text: memo, notes
SUB_CUSTOMER = "QBO reads ':' as the separator of a sub-customer's full name, FullyQualifiedName"
SUB_ITEM = "QBO reads ':' as the separator of a sub-item's full name, FullyQualifiedName"
NO_COLON = "QBO refuses ':' in a name: it separates the levels of a full name"


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
    line1: Line | None = Field(None, max_length=500)
    line2: Line | None = Field(None, max_length=500)
    city: Line | None = Field(None, max_length=255)
    region: Line | None = Field(
        None, max_length=255, description="state or province code (QBO CountrySubDivisionCode)"
    )
    postal_code: Line | None = Field(None, max_length=30)
    country: Line | None = Field(None, max_length=255)


class PlatformRecord(Dto):
    """What every entity carries: identity, tenancy, the QBO link and the times drift is judged by."""

    entity: ClassVar[str]
    schema_id: ClassVar[str]

    id: Id = Field(description="the platform's id of the record")
    qbo_id: Id | None = Field(None, description="the linked QBO record's Id; null when not linked")
    tenant_id: Id = Field(
        description="extension: the tenant; the gateway fills it in for a key bound to one tenant"
    )
    realm_id: Id | None = Field(
        None, description="extension: the QBO company (realm); when absent, the tenant's connected realm"
    )
    qbo_sync_token: Line | None = Field(None, description="extension: the QBO SyncToken at the last sync")
    last_synced_at: AwareDatetime | None = Field(None, description="when the record was last in sync")
    created_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = Field(
        None, description="when the platform last changed the record; absent: when qbo-elt received it"
    )

    @model_validator(mode="after")
    def _sync_needs_link(self) -> PlatformRecord:
        if self.qbo_id is None and self.qbo_sync_token is not None:
            raise FieldError(
                "qboSyncToken", "is set but qboId is not: a sync token belongs to a linked record"
            )
        return self


class Customer(PlatformRecord):
    """SPEC §5.1; the QBO fields of §4.2.1."""

    entity: ClassVar[str] = "Customer"
    schema_id: ClassVar[str] = "https://example.com/schemas/CustomerIntegration.json"

    display_name: Annotated[Name, _no_colon(SUB_CUSTOMER)] = Field(
        min_length=1,
        description="the name shown everywhere; unique per company; no ':' (QBO's sub-customer separator)",
    )
    legal_name: Name | None = Field(None, description="the company's legal name (QBO CompanyName)")
    primary_contact: Name | None = Field(
        None, description="the contact person's given and family name (QBO GivenName + FamilyName)"
    )
    email: Email = None
    phone: Line | None = None
    billing_address: Address | None = None
    shipping_address: Address | None = Field(
        None,
        validation_alias=AliasChoices("shippingAddress", "serviceAddress", "shipping_address"),
        description="the shipping or service address (§4.2.1 calls it serviceAddress, also accepted)",
    )
    default_taxable: bool = True
    payment_terms_id: Id | None = Field(None, description="the default AR terms (a QBO Term's Id)")
    currency: Currency = Field("USD", description="extension")
    notes: Text | None = Field(None, description="extension")
    active: bool = Field(True, description="extension: false deactivates the customer, after approval")
    created_at: AwareDatetime  # the spec requires both times of a customer
    updated_at: AwareDatetime


class Vendor(PlatformRecord):
    """§4.2.2."""

    entity: ClassVar[str] = "Vendor"
    schema_id: ClassVar[str] = "https://example.com/schemas/VendorIntegration.json"

    name: Annotated[Name, _no_colon(NO_COLON)] = Field(
        min_length=1, description="the vendor's name (QBO DisplayName); no ':'"
    )
    contact_name: Name | None = Field(None, description="given and family name of the contact person")
    email: Email = None
    phone: Line | None = None
    ap_account_id: Id | None = Field(None, description="the payables account (a QBO Account's Id)")
    payment_terms_id: Id | None = Field(None, description="the vendor's terms (a QBO Term's Id)")
    company_name: Name | None = Field(None, description="extension")
    billing_address: Address | None = Field(None, description="extension")
    account_number: Line | None = Field(
        None, description="extension: the account number the vendor knows us by"
    )
    is_1099: bool = Field(False, alias="is1099", description="extension")
    currency: Currency = Field("USD", description="extension")
    active: bool = Field(True, description="extension")


ITEM_TYPES = ("service", "inventory", "non_inventory")


class Item(PlatformRecord):
    """SPEC §5.3; the QBO fields of §4.2.6."""

    entity: ClassVar[str] = "Item"
    schema_id: ClassVar[str] = "https://example.com/schemas/ItemIntegration.json"

    name: Annotated[Name, _no_colon(SUB_ITEM)] = Field(
        min_length=1, description="no ':' (QBO's sub-item separator)"
    )
    sku: Line | None = None
    type: Literal[ITEM_TYPES]  # type: ignore[valid-type]
    sales_price: Quantity | None = Field(None, description="QBO UnitPrice; below 10^12, 6 decimals")
    purchase_cost: Quantity | None = None
    income_account_id: Id | None = Field(
        None, description="a QBO Account's Id; absent in a create: the realm's usual income account"
    )
    expense_account_id: Id | None = None
    asset_account_id: Id | None = None
    track_qty: bool = False
    description: Text | None = Field(None, description="extension")
    taxable: bool = Field(False, description="extension")
    active: bool = Field(True, description="extension")


def _line_numbers(lines: Any) -> Any:
    """A line's place in the array is its number, unless the platform numbers it (`lineNumber`)."""
    if not isinstance(lines, list):
        return lines
    return [
        {"lineNumber": n, **line}
        if isinstance(line, dict) and "lineNumber" not in line and "line_number" not in line
        else line
        for n, line in enumerate(lines, start=1)
    ]


class InvoiceLine(Dto):
    id: Id = Field(description="the platform's id of the line")
    item_id: Id | None = Field(None, description="the platform id of the item sold")
    description: Text = Field(max_length=4000)
    quantity: PositiveQuantity
    unit_price: Quantity
    tax_code_id: Id | None = Field(None, description="a QBO TaxCode's Id (TAX or NON in a US company)")
    discount_percent: Percent | None = Field(
        None, description="taken off the line; QBO keeps it in the invoice's discount line"
    )
    service_date: date | None = None
    line_number: int = Field(ge=1, description="extension: the line's place; absent, its array position")
    amount: Money | None = Field(None, description="extension: quantity x unitPrice; computed when absent")

    @model_validator(mode="after")
    def _amount_is_quantity_times_price(self) -> InvoiceLine:
        with localcontext() as exact:  # both below 10^12 with 6 decimals: 36 digits at most
            exact.prec = 40
            expected = (self.quantity * self.unit_price).quantize(CENT)
        if MONEY.problem(expected) is not None:
            raise FieldError(
                "amount", f"quantity x unitPrice is {expected}: more than QBO holds (below 10^13)"
            )
        if self.amount is None:
            object.__setattr__(self, "amount", expected)
        elif abs(expected - self.amount) > CENT:
            raise FieldError("amount", f"{self.amount} is not quantity x unitPrice ({expected})")
        return self

    @property
    def discount(self) -> Decimal:
        if not self.discount_percent:
            return Decimal(0)
        return (self.amount * self.discount_percent / 100).quantize(CENT)  # type: ignore[operator]


InvoiceStatus = Literal["draft", "open", "paid", "voided", "partially_paid"]


class Invoice(PlatformRecord):
    """SPEC §5.2; the QBO fields of §4.2.3. A `draft` is not pushed; `voided` voids it, after approval."""

    entity: ClassVar[str] = "Invoice"
    schema_id: ClassVar[str] = "https://example.com/schemas/InvoiceIntegration.json"

    customer_id: Id = Field(description="the platform id of the customer billed")
    number: Line | None = Field(None, max_length=21, description="the invoice number (QBO DocNumber)")
    issue_date: date
    due_date: date | None = None
    payment_terms_id: Id | None = Field(None, description="a QBO Term's Id")
    currency: Currency = "USD"
    lines: list[InvoiceLine] = Field(min_length=1)
    memo: Text | None = Field(None, max_length=4000, description="QBO PrivateNote")
    status: InvoiceStatus
    total_amount: Money = Field(
        description="the lines, less the discount, plus tax; QBO takes no negative invoice"
    )
    balance: Money = Field(description="what is still owed, as the platform last knew it")
    version: int = Field(ge=0, le=2**31 - 1, description="the platform's version of the invoice")
    discount_amount: Money | None = Field(
        None, description="extension: taken off before tax; absent, the lines' discountPercent"
    )
    tax_amount: Money = Field(Decimal(0), description="extension: the tax QBO computed")

    _lines_numbered = field_validator("lines", mode="before")(_line_numbers)

    @computed_field(description="extension, read-only: status is voided")  # type: ignore[prop-decorator]
    @property
    def voided(self) -> bool:
        return self.status == "voided"

    @model_validator(mode="after")
    def _totals_add_up(self) -> Invoice:
        numbers = [line.line_number for line in self.lines]
        if len(set(numbers)) != len(numbers):
            raise FieldError("lines", "lineNumber repeats")
        if self.due_date is not None and self.due_date < self.issue_date:
            raise FieldError("dueDate", "is before issueDate")
        if self.discount_amount is None:
            discount = sum((line.discount for line in self.lines), Decimal(0))
            object.__setattr__(self, "discount_amount", discount)
        if not self.voided:
            lines = sum((line.amount for line in self.lines), Decimal(0))  # type: ignore[misc]
            expected = lines - self.discount_amount + self.tax_amount  # type: ignore[operator]
            if expected != self.total_amount:
                raise FieldError(
                    "totalAmount",
                    f"{self.total_amount} is not the lines less the discount plus taxAmount ({expected})",
                )
        if self.balance > self.total_amount:
            raise FieldError("balance", "exceeds totalAmount")
        return self


class BillLine(Dto):
    """An expense line: on an account (`expenseAccountId`) or for an item (`itemId`), one of the two."""

    id: Id | None = Field(None, description="extension: the platform's id of the line")
    line_number: int = Field(ge=1, description="extension: the line's place; absent, its array position")
    description: Text | None = Field(None, max_length=4000)
    amount: Money
    expense_account_id: Id | None = Field(None, description="a QBO expense Account's Id")
    item_id: Id | None = Field(None, description="the platform id of the item bought")

    @model_validator(mode="after")
    def _account_or_item(self) -> BillLine:
        if (self.expense_account_id is None) == (self.item_id is None):
            raise FieldError("expenseAccountId", "give exactly one of expenseAccountId and itemId")
        return self


class Bill(PlatformRecord):
    """§4.2.4."""

    entity: ClassVar[str] = "Bill"
    schema_id: ClassVar[str] = "https://example.com/schemas/BillIntegration.json"

    vendor_id: Id = Field(description="the platform id of the vendor")
    reference_number: Line | None = Field(None, max_length=21, description="the bill number (QBO DocNumber)")
    bill_date: date
    due_date: date | None = None
    lines: list[BillLine] = Field(min_length=1)
    total_amount: Money = Field(description="extension: the sum of the lines")
    balance: Money | None = Field(None, description="extension: what is still owed")
    memo: Text | None = Field(None, max_length=4000, description="extension: QBO PrivateNote")
    currency: Currency = Field("USD", description="extension")

    _lines_numbered = field_validator("lines", mode="before")(_line_numbers)

    @model_validator(mode="after")
    def _total_adds_up(self) -> Bill:
        expected = sum((line.amount for line in self.lines), Decimal(0))
        if expected != self.total_amount:
            raise FieldError("totalAmount", f"{self.total_amount} is not the sum of the lines ({expected})")
        return self


class AppliedInvoice(Dto):
    invoice_id: Id = Field(description="the platform id of the invoice paid")
    amount: PositiveMoney


class Payment(PlatformRecord):
    """§4.2.5."""

    entity: ClassVar[str] = "Payment"
    schema_id: ClassVar[str] = "https://example.com/schemas/PaymentIntegration.json"

    customer_id: Id
    date: date
    amount: Money = Field(description="the whole payment (QBO TotalAmt)")
    applied_invoices: list[AppliedInvoice] = Field(default_factory=list)
    method: Line | None = Field(
        None, description="the payment method's name, such as Check (QBO PaymentMethodRef)"
    )
    reference_number: Line | None = Field(None, max_length=21, description="check number and the like")
    currency: Currency = Field("USD", description="extension")

    @model_validator(mode="after")
    def _applications_within_total(self) -> Payment:
        applied = sum((a.amount for a in self.applied_invoices), Decimal(0))
        if applied > self.amount:
            raise FieldError("appliedInvoices", f"adds up to {applied}, more than amount {self.amount}")
        return self


MODELS: dict[str, type[PlatformRecord]] = {
    model.entity: model for model in (Customer, Vendor, Item, Invoice, Bill, Payment)
}


class QboMastered(Dto):
    """A record QBO masters and the platform reads (§9.1): its `id` is its QBO Id."""

    entity: ClassVar[str]
    schema_id: ClassVar[str]

    id: Id = Field(description="the QBO Id: QBO-mastered records keep it on the platform")
    qbo_id: Id
    tenant_id: Id = Field(description="extension")
    realm_id: Id = Field(description="extension")
    active: bool = Field(True, description="extension")
    updated_at: AwareDatetime | None = Field(None, description="extension: when QBO last changed it")


class Account(QboMastered):
    """§4.2.7."""

    entity: ClassVar[str] = "Account"
    schema_id: ClassVar[str] = "https://example.com/schemas/AccountIntegration.json"

    name: str
    type: str = Field(description="QBO AccountType, such as Income or Accounts Payable")
    subtype: str | None = Field(None, description="QBO AccountSubType")
    classification: str | None = Field(None, description="Asset, Liability, Equity, Revenue or Expense")


class Employee(QboMastered):
    """§4.2.8."""

    entity: ClassVar[str] = "Employee"
    schema_id: ClassVar[str] = "https://example.com/schemas/EmployeeIntegration.json"

    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None


QBO_MASTERED: dict[str, type[QboMastered]] = {model.entity: model for model in (Account, Employee)}


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
