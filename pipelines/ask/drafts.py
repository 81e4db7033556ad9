"""A write intent as the platform DTO it stands for, checked the way a push would check it, but not sent.

"Create an invoice for Acme Corp for $500 for consulting" names a QBO customer and an amount; the
integration DTO needs the platform's ids. The customer (or vendor) is found by name in the
warehouse and mapped to its platform record through the published references. The item is the
linked one whose name the description names; the invoice is `open`, owing its whole amount, at
version 0. A bill line takes the vendor's usual expense account (`expenseAccountId`).
The draft then goes through the DTO contract, the outbound row and pre-flight of the reverse ETL. A
draft that fails keeps its error DTO in the approval queue, so a person sees what to fix.
The warehouse is read with `open_warehouse`: a DuckDB file or a PostgreSQL database alike.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from pipelines.ask.intent import MAX_AMOUNT, QboIntent
from pipelines.ask.translate import qbo_id_by_name
from pipelines.mapping.outbound import Refused, outbound_row
from pipelines.mapping.payloads import preflight, pushable
from pipelines.mapping.rendering import rendered
from pipelines.mapping.spec import LINES_FIELD
from pipelines.runtime.warehouse_sql import WarehouseSQL, bytewise, open_warehouse
from sources.platform.dto import MODELS, contract_error
from sources.platform.errors import detail, error_dto

if TYPE_CHECKING:
    from pipelines.runtime.connector import Connector


CENTS = Decimal("0.01")
DATE_FIELD = {"Invoice": "issueDate", "Bill": "billDate"}  # the DTO's date field (SPEC §5.2, §4.2.4)


class Incomplete(ValueError):
    def __init__(self, field: str, message: str, issue: str = "invalid") -> None:
        super().__init__(message)
        self.dto = error_dto("DRAFT_INCOMPLETE", message, [detail(field, issue, message)])


def draft(
    connector: Connector, intent: QboIntent, realm_id: str, today: date
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(the DTO, None) when a push would take it; (what could be drafted, the error DTO) otherwise."""
    record = dict(intent.record or {})
    entity = intent.entity
    party = "Vendor" if entity == "Bill" else "Customer"
    dto: dict[str, Any] = {"id": f"ask-{uuid.uuid4().hex[:12]}", "realmId": realm_id}
    dto[DATE_FIELD[entity]] = today.isoformat()
    try:
        amount = _amount(record.get("amount"))
        name = record.get(f"{party.lower()}Name") or ""
        with open_warehouse(connector.settings.warehouse_target) as db:
            party_qbo = qbo_id_by_name(db, party, realm_id, name)
            if party_qbo is None:
                raise Incomplete(
                    f"{party.lower()}Name", f"QBO has no {party.lower()} named {name!r}", "unknown_name"
                )
            tenant, party_platform = _platform_of(connector, realm_id, party, party_qbo, name)
            dto |= {"tenantId": tenant, f"{party.lower()}Id": party_platform}
            description = record.get("description")
            line: dict[str, Any] = {"id": f"{dto['id']}-1", "lineNumber": 1, "amount": str(amount)}
            if entity == "Invoice":
                item_name = record.get("itemName") or description
                item_qbo = _item(db, realm_id, item_name)
                _, line["itemId"] = _platform_of(connector, realm_id, "Item", item_qbo, str(item_name))
                # the spec requires a line description: what was asked for, else the item's name
                line |= {
                    "description": description or _item_name(db, realm_id, item_qbo),
                    "quantity": "1",
                    "unitPrice": str(amount),
                }
                # an issued invoice nobody has paid yet, in the platform's first version (SPEC §5.2)
                dto |= {"status": "open", "balance": str(amount), "version": 0}
            else:
                line |= {
                    "description": description,
                    "expenseAccountId": _usual_account(db, realm_id, party_qbo),
                }
        # no updatedAt: the push takes the record as changed when it receives it, once approved
        dto |= {"lines": [line], "totalAmount": str(amount)}
    except Incomplete as exc:
        return dto, exc.dto
    return dto, check(connector, entity, dto, realm_id)


def check(connector: Connector, entity: str, dto: dict[str, Any], realm_id: str) -> dict[str, Any] | None:
    """The reverse ETL's checks of a create, without sending it: the DTO contract, then pre-flight."""
    try:
        record = MODELS[entity].model_validate(dto)
    except ValidationError as exc:
        return contract_error(entity, exc)
    names = [f["name"] for f in pushable(entity)] + ([LINES_FIELD] if rendered()[entity]["lines"] else [])
    try:
        row, _lines = outbound_row(entity, record, realm_id, "create", names, connector.store.references)
    except Refused as refused:
        return refused.answer.body
    return preflight(entity, row)


def _amount(raw: Any) -> Decimal:
    """The amount exactly as sent, or Incomplete: never rounded, and never outside what QBO holds."""
    bound = f"a draft's amount is above 0 and below {MAX_AMOUNT:,.0f}, with at most 2 decimals"
    try:
        shown = repr(raw)[:40]
    except ValueError:  # an int over Python's 4,300 digits has no text
        shown = "a number of over 4,300 digits"
    if isinstance(raw, bool) or not isinstance(raw, str | int | float | Decimal):
        raise Incomplete("amount", f"{shown} is not an amount: {bound}", "not_a_number")
    try:
        amount = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        raise Incomplete("amount", f"{shown} is not an amount: {bound}", "not_a_number") from None
    if not amount.is_finite():
        raise Incomplete("amount", f"{shown} is not a number: {bound}", "not_a_number")
    if amount <= 0 or amount >= MAX_AMOUNT:
        raise Incomplete("amount", f"{shown} is out of range: {bound}", "out_of_range")
    if amount != amount.quantize(CENTS):
        raise Incomplete("amount", f"{shown} has more than 2 decimals: {bound}", "out_of_range")
    return amount.quantize(CENTS)


def _item(db: WarehouseSQL, realm_id: str, words: str | None) -> str:
    """The active item whose name the words name (the longest such name), e.g. 'consulting', in any
    case or accent."""
    if words:
        name, typed = db.fold("name"), db.fold("?")
        found = db.execute(  # position(), not LIKE '%...': no `%` to escape for psycopg, names are data
            "SELECT qbo_id FROM staging.stg_qbo__items WHERE realm_id = ? AND NOT is_deleted "
            f"AND coalesce(active, true) AND (position({name} IN {typed}) > 0 "
            f"OR position({typed} IN {name}) > 0) "
            f"ORDER BY length(name) DESC, {bytewise('qbo_id', db.dialect)} LIMIT 1",
            [realm_id, words, words],
        ).fetchone()
        if found:
            return found[0]
    raise Incomplete(
        "lines[0].itemId", f"no QBO item matches {words!r}: say which item the invoice is for", "unknown_name"
    )


def _item_name(db: WarehouseSQL, realm_id: str, item_qbo: str) -> str:
    found = db.execute(
        "SELECT name FROM staging.stg_qbo__items WHERE realm_id = ? AND qbo_id = ?", [realm_id, item_qbo]
    ).fetchone()
    return str(found[0]) if found and found[0] else ""


def _usual_account(db: WarehouseSQL, realm_id: str, vendor_qbo: str) -> str:
    found = db.execute(
        "SELECT l.account FROM staging.stg_qbo__bill_lines l JOIN staging.stg_qbo__bills b "
        "ON b.realm_id = l.realm_id AND b.dlt_id = l.parent_dlt_id "
        "WHERE b.realm_id = ? AND b.vendor = ? AND l.account IS NOT NULL "
        f"GROUP BY l.account ORDER BY count(*) DESC, {bytewise('l.account', db.dialect)} LIMIT 1",
        [realm_id, vendor_qbo],
    ).fetchone()
    if found is None:
        raise Incomplete(
            "lines[0].expenseAccountId",
            "the vendor has no earlier bill on an expense account: say which expense account",
            "required",
        )
    return str(found[0])


def _platform_of(connector: Connector, realm_id: str, entity: str, qbo_id: str, name: str) -> tuple[str, str]:
    """(tenant, platform id) of the platform record linked to a QBO record, from the published references."""
    found = connector.store.references.platform_record(realm_id, entity, qbo_id)
    if found is None:
        field = "lines[0].itemId" if entity == "Item" else f"{entity.lower()}Id"
        raise Incomplete(
            field,
            f"QBO {entity} {name!r} is linked to no platform record (run `qbo transform`)",
            "not_linked",
        )
    return found
