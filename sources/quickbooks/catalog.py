"""The QBO entity catalog: one place that says how each entity behaves on the wire.

The sandbox serves from it and the dlt source extracts from it, so a fact about an entity
(can it be hard-deleted? does CDC report it? does it carry `Active`?) is written once.
Facts and their sources are in ../shared/reference/QBO_API.md (§2 CDC, §4 CRUD, §8 webhooks).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    LIST = "list"  # name lists: never hard-deleted, deactivated with Active=false
    TRANSACTION = "transaction"  # posts to the ledger; deleted with ?operation=delete
    SINGLETON = "singleton"  # one object per company (CompanyInfo, Preferences)
    OTHER = "other"  # neither (Attachable, TimeActivity, Budget)


class Void(StrEnum):
    """How a transaction is voided, when it can be."""

    OPERATION_VOID = "operation=void"  # POST /invoice?operation=void
    INCLUDE_VOID = "operation=update&include=void"  # POST /payment?operation=update&include=void


C, U, D, M, V, E = "Create", "Update", "Delete", "Merge", "Void", "Emailed"


@dataclass(frozen=True)
class EntitySpec:
    name: str
    kind: Kind
    cdc: bool = True
    has_active: bool = False
    deletable: bool = False  # hard delete through ?operation=delete
    void: Void | None = None
    webhook_operations: tuple[str, ...] = ()
    read_only: bool = False  # the API refuses creates (TaxCode, TaxRate: made through TaxService)

    @property
    def resource(self) -> str:
        """The lower-case path segment: /v3/company/{realm}/{resource}."""
        return self.name.lower()

    @property
    def is_name_list(self) -> bool:
        return self.has_active


_LIST_OPS = (C, U, M, D)

ENTITIES: dict[str, EntitySpec] = {
    spec.name: spec
    for spec in (
        EntitySpec("Account", Kind.LIST, has_active=True, webhook_operations=_LIST_OPS),
        EntitySpec("Attachable", Kind.OTHER, deletable=True, webhook_operations=(C, U, D)),
        EntitySpec("Bill", Kind.TRANSACTION, deletable=True, webhook_operations=(C, U, D)),
        EntitySpec(
            "BillPayment",
            Kind.TRANSACTION,
            deletable=True,
            void=Void.INCLUDE_VOID,
            webhook_operations=(C, U, D, V),
        ),
        EntitySpec("Budget", Kind.OTHER, has_active=True, webhook_operations=(C, U)),
        EntitySpec("Class", Kind.LIST, has_active=True, webhook_operations=_LIST_OPS),
        EntitySpec("CompanyInfo", Kind.SINGLETON, cdc=False),
        EntitySpec(
            "CreditMemo",
            Kind.TRANSACTION,
            deletable=True,
            void=Void.OPERATION_VOID,
            webhook_operations=(C, U, D, V, E),
        ),
        EntitySpec("Customer", Kind.LIST, has_active=True, webhook_operations=_LIST_OPS),
        EntitySpec("CustomerType", Kind.LIST, has_active=True, cdc=False),
        EntitySpec("Department", Kind.LIST, has_active=True, webhook_operations=(C, U, M)),
        EntitySpec("Deposit", Kind.TRANSACTION, deletable=True, webhook_operations=(C, U, D)),
        EntitySpec("Employee", Kind.LIST, has_active=True, webhook_operations=_LIST_OPS),
        EntitySpec("Estimate", Kind.TRANSACTION, deletable=True, webhook_operations=(C, U, D, E)),
        EntitySpec(
            "Invoice",
            Kind.TRANSACTION,
            deletable=True,
            void=Void.OPERATION_VOID,
            webhook_operations=(C, U, D, V, E),
        ),
        EntitySpec("Item", Kind.LIST, has_active=True, webhook_operations=_LIST_OPS),
        EntitySpec("JournalEntry", Kind.TRANSACTION, deletable=True, webhook_operations=(C, U, D)),
        EntitySpec(
            "Payment",
            Kind.TRANSACTION,
            deletable=True,
            void=Void.INCLUDE_VOID,
            webhook_operations=(C, U, D, V, E),
        ),
        EntitySpec("PaymentMethod", Kind.LIST, has_active=True, webhook_operations=(C, U, M)),
        EntitySpec("Preferences", Kind.SINGLETON, cdc=False, webhook_operations=(U,)),
        EntitySpec(
            "Purchase",
            Kind.TRANSACTION,
            deletable=True,
            void=Void.OPERATION_VOID,
            webhook_operations=(C, U, D, V),
        ),
        EntitySpec("PurchaseOrder", Kind.TRANSACTION, deletable=True, webhook_operations=(C, U, D, E)),
        EntitySpec(
            "RefundReceipt",
            Kind.TRANSACTION,
            deletable=True,
            void=Void.OPERATION_VOID,
            webhook_operations=(C, U, D, V, E),
        ),
        EntitySpec(
            "SalesReceipt",
            Kind.TRANSACTION,
            deletable=True,
            void=Void.INCLUDE_VOID,
            webhook_operations=(C, U, D, V, E),
        ),
        EntitySpec("TaxAgency", Kind.LIST, cdc=False, webhook_operations=(C, U)),
        EntitySpec("TaxCode", Kind.LIST, has_active=True, cdc=False, read_only=True),
        EntitySpec("TaxRate", Kind.LIST, has_active=True, cdc=False, read_only=True),
        EntitySpec("Term", Kind.LIST, has_active=True, webhook_operations=(C, U)),
        EntitySpec("TimeActivity", Kind.OTHER, cdc=False, deletable=True, webhook_operations=(C, U, D)),
        EntitySpec(
            "Transfer",
            Kind.TRANSACTION,
            deletable=True,
            void=Void.OPERATION_VOID,
            webhook_operations=(C, U, D, V),
        ),
        EntitySpec("Vendor", Kind.LIST, has_active=True, webhook_operations=_LIST_OPS),
        EntitySpec("VendorCredit", Kind.TRANSACTION, deletable=True, webhook_operations=(C, U, D)),
    )
}

BY_RESOURCE: dict[str, EntitySpec] = {spec.resource: spec for spec in ENTITIES.values()}

# DisplayName is unique across these three (fault 6240); QBO's Detail text says so.
PARTY_ENTITIES = ("Customer", "Vendor", "Employee")


def entity(name: str) -> EntitySpec:
    """The spec for an exact entity name; KeyError names the entity and the valid choices."""
    try:
        return ENTITIES[name]
    except KeyError:
        raise KeyError(
            f"unknown QBO entity {name!r}; expected one of {', '.join(sorted(ENTITIES))}"
        ) from None
