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
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from pipelines.ask.folded_text import fold
from pipelines.ask.intent import MAX_AMOUNT, QboIntent
from pipelines.ask.name_words import name_words
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


CENTS, MICRO = Decimal("0.01"), Decimal("0.000001")
MAX_QUANTITY = Decimal("1e12")  # the DTO's Quantity: below 10^12
MAX_DUE_DAYS = 3660  # terms of more than ten years are no terms to date a draft by
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
        quantity, price, amount = _line_numbers(record)
        name = record.get(f"{party.lower()}Name") or ""
        with open_warehouse(connector.settings.warehouse_target) as db:
            party_qbo = qbo_id_by_name(db, party, realm_id, name)
            if party_qbo is None:
                raise Incomplete(
                    f"{party.lower()}Name", f"QBO has no {party.lower()} named {name!r}", "unknown_name"
                )
            tenant, party_platform = _platform_of(connector, realm_id, party, party_qbo, name)
            dto |= {"tenantId": tenant, f"{party.lower()}Id": party_platform}
            dto |= _due(db, realm_id, party, party_qbo, today, record.get("dueDate"), entity)
            description = record.get("description")
            line: dict[str, Any] = {"id": f"{dto['id']}-1", "lineNumber": 1, "amount": str(amount)}
            if entity == "Invoice":
                item_name = record.get("itemName") or record.get("item") or description
                item_qbo, item_shown = _item(db, realm_id, item_name)
                _, line["itemId"] = _platform_of(connector, realm_id, "Item", item_qbo, item_shown)
                # the spec requires a line description: what was asked for, else the item's name
                line |= {
                    "description": description or item_shown,
                    "quantity": str(quantity),
                    "unitPrice": str(price),
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


def _amount(raw: Any, field: str = "amount") -> Decimal:
    """The amount (or unit price) exactly as sent, or Incomplete: never rounded, never outside what QBO
    holds."""
    bound = f"a draft's {field} is above 0 and below {MAX_AMOUNT:,.0f}, with at most 2 decimals"
    try:
        shown = repr(raw)[:40]
    except ValueError:  # an int over Python's 4,300 digits has no text
        shown = "a number of over 4,300 digits"
    if isinstance(raw, bool) or not isinstance(raw, str | int | float | Decimal):
        raise Incomplete(field, f"{shown} is not an amount: {bound}", "not_a_number")
    try:
        amount = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        raise Incomplete(field, f"{shown} is not an amount: {bound}", "not_a_number") from None
    if not amount.is_finite():
        raise Incomplete(field, f"{shown} is not a number: {bound}", "not_a_number")
    if amount <= 0 or amount >= MAX_AMOUNT:
        raise Incomplete(field, f"{shown} is out of range: {bound}", "out_of_range")
    if amount != amount.quantize(CENTS):
        raise Incomplete(field, f"{shown} has more than 2 decimals: {bound}", "out_of_range")
    return amount.quantize(CENTS)


def _line_numbers(record: dict[str, Any]) -> tuple[Decimal, Decimal, Decimal]:
    """(quantity, unit price, amount) of the one line: "3 hours at 150" is 3 x 150 = 450; a bare amount
    is one of it. An amount that is not quantity x unitPrice (to the cent) is refused, naming both."""
    quantity_raw, price_raw = record.get("quantity"), record.get("unitPrice")
    if quantity_raw is None and price_raw is None:
        amount = _amount(record.get("amount"))
        return Decimal(1), amount, amount
    quantity = _quantity(quantity_raw)
    price = _amount(price_raw, "unitPrice")
    product = (quantity * price).quantize(CENTS, ROUND_HALF_UP)
    amount = _amount(product if record.get("amount") is None else record.get("amount"))
    if amount != product:
        raise Incomplete(
            "amount", f"{amount} is not quantity x unitPrice ({quantity} x {price} = {product})", "invalid"
        )
    return quantity, price, amount


def _quantity(raw: Any) -> Decimal:
    """A line's quantity: above 0 and below 10^12, at most 6 decimals (the DTO's bounds)."""
    bound = "a quantity is above 0 and below 10^12, with at most 6 decimals"
    try:
        if isinstance(raw, bool) or not isinstance(raw, str | int | float | Decimal):
            raise InvalidOperation
        quantity = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        raise Incomplete(
            "quantity", f"{str(raw)[:40]!r} is not a quantity: {bound}", "not_a_number"
        ) from None
    if not quantity.is_finite() or not 0 < quantity < MAX_QUANTITY or quantity != quantity.quantize(MICRO):
        raise Incomplete("quantity", f"{str(raw)[:40]!r} is out of range: {bound}", "out_of_range")
    return quantity.quantize(Decimal(1)) if quantity == quantity.to_integral_value() else quantity


def _due(
    db: WarehouseSQL, realm_id: str, party: str, party_qbo: str, today: date, asked: Any, entity: str
) -> dict[str, Any]:
    """The due date asked for, else the customer's or vendor's terms (Net 30: 30 days from today), with
    the term for an invoice; nothing when the warehouse knows no terms with a number of days."""
    if asked is not None:
        try:
            due = date.fromisoformat(str(asked)[:10])
        except ValueError:
            raise Incomplete(
                "dueDate", f"{str(asked)[:40]!r} is not a date (YYYY-MM-DD)", "invalid"
            ) from None
        if due < today:
            raise Incomplete("dueDate", f"{due} is before the {entity.lower()}'s date ({today})", "invalid")
        return {"dueDate": due.isoformat()}
    table = "stg_qbo__vendors" if party == "Vendor" else "stg_qbo__customers"
    found = db.optional(  # a warehouse without terms synced has no terms model: no due date, no error
        f"SELECT t.qbo_id, t.due_days FROM staging.{table} p JOIN staging.stg_qbo__terms t "
        "ON t.realm_id = p.realm_id AND t.qbo_id = p.payment_terms "
        "WHERE p.realm_id = ? AND p.qbo_id = ? AND NOT t.is_deleted AND t.due_days IS NOT NULL",
        [realm_id, party_qbo],
    )
    if not found or found[0][1] is None or not 0 <= int(found[0][1]) <= MAX_DUE_DAYS:
        return {}
    term, days = found[0]
    due = {"dueDate": (today + timedelta(days=int(days))).isoformat()}
    return due | {"paymentTermsId": str(term)} if entity == "Invoice" else due


def _item(db: WarehouseSQL, realm_id: str, words: str | None) -> tuple[str, str]:
    """(QBO Id, name) of the active item the words name, as people say it: the whole name in any case,
    accent or plural ("Patio Chairs"), a name inside the words ("hours of consulting"), or the start or
    a part of one name ("sprinkler" when only one item has it). Several items a part names are refused
    naming them: the draft says which to choose, it never guesses."""
    if words:
        items = db.all(
            "SELECT qbo_id, name FROM staging.stg_qbo__items WHERE realm_id = ? AND NOT is_deleted "
            f"AND coalesce(active, true) AND name IS NOT NULL ORDER BY {bytewise('qbo_id', db.dialect)}",
            [realm_id],
        )
        typed = _item_words(str(words))
        known = [(_item_words(str(name)), str(qbo_id), str(name)) for qbo_id, name in items]
        equal = [(q, n) for w, q, n in known if w == typed]
        inside = sorted(((q, n) for w, q, n in known if w and _holds(typed, w)), key=lambda qn: -len(qn[1]))
        part = [(q, n) for w, q, n in known if typed and _holds(w, typed)]
        for found in (equal, inside[:1], part):
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                names = sorted({n for _, n in found}, key=str.casefold)
                raise Incomplete(
                    "lines[0].itemId",
                    f"{str(words)[:60]!r} could be items {', '.join(names[:10])}: say which one",
                    "ambiguous",
                )
    raise Incomplete(
        "lines[0].itemId", f"no QBO item matches {words!r}: say which item the invoice is for", "unknown_name"
    )


def _item_words(name: str) -> tuple[str, ...]:
    """An item's words as matched: folded, no punctuation, a plural's "s" dropped ("Rocks" is "Rock")."""
    return tuple(
        w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w
        for w in name_words(fold(name))
    )


def _holds(words: tuple[str, ...], part: tuple[str, ...]) -> bool:
    n = len(part)
    return any(words[i : i + n] == part for i in range(len(words) - n + 1))


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
