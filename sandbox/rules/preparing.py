"""A document on its way in: checked, its references resolved, its derived fields filled in, per entity."""

from __future__ import annotations

from typing import Any

from sandbox.rules.changes import Write
from sandbox.rules.client_input import check_lengths, require
from sandbox.rules.name_list_fields import prepare_account, prepare_item, prepare_party
from sandbox.rules.names import QUALIFIED_NAMES, apply_active_suffix, qualified
from sandbox.rules.payments import APPLICATIONS, prepare_payment
from sandbox.rules.references import resolve_references
from sandbox.rules.transaction_fields import (
    EXPENSE_FORMS,
    SALES_FORMS,
    prepare_deposit,
    prepare_expense_form,
    prepare_journal_entry,
    prepare_sales_form,
    prepare_time_activity,
    prepare_transfer,
)
from sources.quickbooks.catalog import PARTY_ENTITIES, EntitySpec


def prepare(w: Write, spec: EntitySpec, doc: dict[str, Any], old: dict[str, Any] | None) -> None:
    entity = spec.name
    check_lengths(entity, doc)
    resolve_references(w, doc, entity)
    if entity in PARTY_ENTITIES:
        prepare_party(w, entity, doc, old)
    elif entity == "Item":
        prepare_item(doc)
    elif entity == "Account":
        prepare_account(doc)
    elif entity in SALES_FORMS:
        prepare_sales_form(w, entity, doc, old)
    elif entity in EXPENSE_FORMS:
        prepare_expense_form(w, entity, doc, old)
    elif entity in APPLICATIONS:
        prepare_payment(w, entity, doc, old)
    elif entity == "JournalEntry":
        prepare_journal_entry(w, doc)
    elif entity == "Deposit":
        prepare_deposit(w, doc)
    elif entity == "Transfer":
        prepare_transfer(w, doc)
    elif entity == "TimeActivity":
        prepare_time_activity(w, doc)
    elif entity in ("Term", "PaymentMethod", "Class", "Department", "CustomerType", "Budget"):
        require(doc, "Name")
    elif entity == "TaxAgency":
        require(doc, "DisplayName")
    if spec.has_active:
        apply_active_suffix(entity, doc, old)
        if entity in QUALIFIED_NAMES and "Name" in doc:
            doc["FullyQualifiedName"] = qualified(w, entity, doc, doc["Name"])
