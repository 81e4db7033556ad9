"""Plain English -> `QboIntent`, offline and deterministic (seed §11): the default `IntentParser`.

`RuleParser` answers the same question the same way every time, with no network and no model: what it
does not understand it refuses (`ParseError`, with an example that works) rather than guessing. Names
are only ever data: they come from a `NameIndex` of known display names (or quotes) and go into
`Filters` fields; the parser never builds a query.

How it reads a question: it normalises the text (quotes, dashes, whitespace), folds it for matching
(case, accents, `&` = `and`) keeping a map back to the original characters, then takes out, in order,
the name, the dates, document numbers, the realm and paging, and the amounts, masking each span so that
a number or word already used is not read twice (a customer called "Overdue Ltd" is not a status, the
30 of "last 30 days" is not an amount). The operation, aggregate and status come from what is left.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from pydantic import ValidationError

from pipelines.ask import keywords
from pipelines.ask.amounts import amount_text, take_amounts, take_bare_amount
from pipelines.ask.dates import take_dates, take_due_dates
from pipelines.ask.draft_words import take_line
from pipelines.ask.folded_text import MaskedText
from pipelines.ask.identifiers import take_document, take_realm
from pipelines.ask.intent import QboIntent
from pipelines.ask.names import CUSTOMER, VENDOR, NameIndex, NameMatch, take_name
from pipelines.ask.paging import take_page
from pipelines.ask.parse_error import ParseError
from pipelines.ask.ranking import Ranking, take_aging, take_ranking

__all__ = [
    "IntentParser",
    "ParseError",
    "RuleParser",
]  # ParseError lives in parse_error: the steps raise it too


class IntentParser(Protocol):
    """Anything that turns a question into a validated `QboIntent`, relative dates against `today`."""

    def parse(self, text: str, today: date) -> QboIntent: ...


class RuleParser:
    """The default `IntentParser`: keywords, names from a `NameIndex`, dates relative to `today`."""

    def __init__(self, names: NameIndex | None = None) -> None:
        self.names = names or NameIndex()

    def parse(self, text: str, today: date) -> QboIntent:
        if not text or not text.strip():
            raise ParseError("the question is empty")
        if len(text) > 1000:
            raise ParseError("the question is over 1,000 characters")
        t = MaskedText.of(text)
        name = take_name(t, self.names)
        m = t.m
        if keywords.DESTRUCTIVE.search(m) or keywords.VOID_VERB.search(m):
            raise ParseError(
                "destructive operations (delete, void, deactivate, remove) are not available: "
                "QBO records are only read here, and new invoices and bills only drafted for approval"
            )
        if keywords.MODIFY.search(m) and not keywords.CREATE.search(m):
            raise ParseError(
                "changing existing records is not available: "
                "ask to see them, or to draft a new invoice or bill"
            )
        create = keywords.CREATE.search(m)
        line = take_line(t) if create else None  # "3 hours at 150" is 3 x 150: read before dates, amounts
        least_late, most_late = (None, None) if create else take_aging(t)
        due_from, due_to = (None, None) if create else take_due_dates(t, today)
        date_from, date_to = take_dates(t, today)
        doc, doc_entity, qbo_id = (None, None, None) if create else take_document(t)
        realm = take_realm(t)
        ranking = Ranking() if create else take_ranking(t)
        size, page = take_page(t)
        amount_min, amount_max, exact = take_amounts(t)
        m = t.m
        if create:
            return self._create(t, create, name, exact, amount_min, realm, line)
        try:
            operation, status = self._ranked_operation(m, name, doc_entity, qbo_id, ranking)
        except ParseError:
            if not (due_from or due_to or least_late or most_late is not None):
                raise
            operation, status = "LIST_INVOICES", None  # "what falls due next week": owed to us
        leftover = re.search(r"(?<![\w.])\d[\d,.]*(?![\w])", m)
        if leftover:
            raise ParseError(f"not sure what {leftover.group(0)!r} means here (an amount? a date? a number?)")
        aggregate = None
        if not operation.startswith("GET_"):
            aggregate = (
                "count"
                if keywords.COUNT.search(m) or ranking.count
                else "avg"
                if keywords.AVG.search(m)
                else "sum"
                if keywords.SUM.search(m) or ranking.group_by
                else None
            )
        if status is None and not operation.startswith("GET_"):
            status = next((s for s, pattern in keywords.STATUSES if pattern.search(m)), None)
            if status == "paid" and operation == "LIST_PAYMENTS":
                status = None
        if operation == "LIST_CUSTOMERS" and (
            status or due_from or due_to or least_late or most_late is not None
        ):
            operation = "LIST_INVOICES"  # "which customers are overdue": their invoices are
        if status is None and (due_from or due_to or most_late == 0):
            status = "unpaid"  # "due next week", "not yet due": what is still to be paid
        if least_late:
            status = "overdue"
        filters: dict[str, Any] = {
            "status": status,
            "date_from": date_from,
            "date_to": date_to,
            "doc_number": doc,
            "qbo_id": qbo_id,
            "due_from": due_from,
            "due_to": due_to,
            "min_days_past_due": least_late,
            "max_days_past_due": most_late,
        }
        if exact is not None:
            amount_min = amount_max = exact
        filters |= {"min_amount": amount_min, "max_amount": amount_max}
        operation, status = self._assign(operation, name, filters)
        if status:
            filters["status"] = status
        payload: dict[str, Any] = {
            "operation": operation,
            "filters": {k: v for k, v in filters.items() if v is not None},
            "aggregate": aggregate,
            "realm_id": realm,
        }
        if ranking.group_by:
            payload |= {"group_by": ranking.group_by, "top": size or ranking.top}
            if ranking.direction:
                payload["order_direction"] = ranking.direction
            size = None
        elif ranking.row_order and not aggregate:
            payload |= {"order_by": ranking.row_order, "order_direction": ranking.direction}
        if size or page:
            payload["pagination"] = {"page": page or 1, "page_size": size or 100}
        return _validated(payload)

    # -- operation
    def _ranked_operation(
        self, m: str, name: NameMatch | None, doc_entity: str | None, qbo_id: str | None, ranking: Ranking
    ) -> tuple[str, str | None]:
        """A ranking of customers reads their invoices (unless payments are named), of vendors their bills."""
        if not ranking.group_by:
            return self._operation(m, name, doc_entity, qbo_id)
        try:
            operation, status = self._operation(m, name, doc_entity, qbo_id)
        except ParseError:
            operation, status = "LIST_CUSTOMERS", None
        if operation in ("LIST_CUSTOMERS", "GET_CUSTOMER"):
            operation = "LIST_BILLS" if ranking.group_by == "vendor" else "LIST_INVOICES"
        return operation, status

    def _operation(
        self, m: str, name: NameMatch | None, doc_entity: str | None, qbo_id: str | None
    ) -> tuple[str, str | None]:
        if doc_entity == "invoice" or (qbo_id and keywords.INVOICE.search(m)):
            return "GET_INVOICE", None
        if doc_entity == "bill" or (qbo_id and keywords.BILL.search(m)):
            return "LIST_BILLS", None  # there is no GET_BILL: a bill's number filters the list
        if qbo_id and (keywords.CUSTOMER.search(m) or keywords.CUSTOMERS.search(m)):
            return "GET_CUSTOMER", None
        if doc_entity:  # a bare "#1043"
            return "GET_INVOICE", None
        if qbo_id:
            raise ParseError(
                f"an id ({qbo_id}) but not of what: say invoice or customer",
                '"invoice id 145", "customer id 58"',
            )
        if keywords.PAYMENT_NOUN.search(m):
            return "LIST_PAYMENTS", None
        if keywords.INVOICE.search(m):
            return "LIST_INVOICES", None
        if keywords.BILL.search(m):
            return "LIST_BILLS", None
        if keywords.WE_PAY.search(m):
            return "LIST_BILLS", "paid"
        if keywords.WE_SPEND.search(m):
            return "LIST_BILLS", None
        if keywords.WE_OWE.search(m):
            return "LIST_BILLS", "unpaid"
        if keywords.OWES_US.search(m):
            return "LIST_INVOICES", "unpaid"
        if keywords.PAY_VERB.search(m):
            return "LIST_PAYMENTS", None
        if keywords.CUSTOMERS.search(m) and not name:
            return "LIST_CUSTOMERS", None
        if name or keywords.CUSTOMER.search(m):
            if name is None:
                raise ParseError("which customer? no known customer name was found", '"customer Acme Corp"')
            return "GET_CUSTOMER", None
        if keywords.VENDOR.search(m):
            raise ParseError(
                "vendors can not be listed here: ask about their bills", '"unpaid bills from Staples"'
            )
        if keywords.OWED_STATE.search(m):
            return "LIST_INVOICES", None
        raise ParseError("could not tell what to look up (invoices, bills, payments or customers)")

    @staticmethod
    def _assign(operation: str, name: NameMatch | None, filters: dict[str, Any]) -> tuple[str, str | None]:
        """Put the name in the field the operation reads; a vendor's "invoices" are bills in QBO."""
        status = None
        if name is None:
            return operation, status
        vendor_only = name.kinds == {VENDOR}
        customer_only = name.kinds == {CUSTOMER}
        if vendor_only and operation == "LIST_INVOICES":
            operation = "LIST_BILLS"
        elif vendor_only and operation == "LIST_PAYMENTS":  # what we paid a vendor: its paid bills
            operation, status = "LIST_BILLS", "paid"
        elif vendor_only and operation == "GET_CUSTOMER":
            raise ParseError(
                f"{name.name!r} is a vendor, and vendor details are not available: ask about its bills",
                f'"unpaid bills from {name.name}"',
            )
        if operation == "LIST_CUSTOMERS":
            operation = "GET_CUSTOMER"
        if operation == "LIST_BILLS":
            if customer_only:
                raise ParseError(
                    f"{name.name!r} is a customer, and bills come from vendors: ask about its invoices",
                    f'"invoices for {name.name}"',
                )
            filters["vendor_name"] = name.name
        elif operation != "GET_INVOICE" or not (filters.get("doc_number") or filters.get("qbo_id")):
            filters["customer_name"] = name.name
        return operation, status

    def _create(
        self,
        t: MaskedText,
        create: re.Match[str],
        name: NameMatch | None,
        exact: Decimal | None,
        amount_min: Decimal | None,
        realm: str | None,
        line: dict[str, Any] | None = None,
    ) -> QboIntent:
        bill = create.group("ent") == "bill"
        who, field = ("vendor", "vendorName") if bill else ("customer", "customerName")
        whom = "a bill from Staples" if bill else "an invoice for Acme Corp"
        example = f'"create {whom} for $500 for consulting"'
        if name is None:
            raise ParseError(
                f"which {who} is the {'bill' if bill else 'invoice'} for? no known name was found", example
            )
        if bill and name.kinds == {CUSTOMER}:
            raise ParseError(f"{name.name!r} is a customer: bills come from vendors", example)
        if not bill and name.kinds == {VENDOR}:
            raise ParseError(f"{name.name!r} is a vendor: invoices go to customers", example)
        if line is not None:  # quantity x unit price: the line is the whole amount
            record = {field: name.name, **line}
            description = record.get("description") or self._description(t, create.end())
            record |= {"description": description} if description else {}
            operation = "CREATE_BILL" if bill else "CREATE_INVOICE"
            return _validated({"operation": operation, "record": record, "realm_id": realm})
        amount = exact if exact is not None else take_bare_amount(t)  # "for 500": no sign needed
        if amount is None or amount_min is not None:
            raise ParseError(
                f"how much is the {'bill' if bill else 'invoice'} for? no single amount was found", example
            )
        if amount <= 0:
            raise ParseError("the amount must be more than zero", example)
        record: dict[str, Any] = {field: name.name, "amount": amount_text(amount)}
        description = self._description(t, create.end())
        if description:
            record["description"] = description
        return _validated(
            {"operation": "CREATE_BILL" if bill else "CREATE_INVOICE", "record": record, "realm_id": realm}
        )

    @staticmethod
    def _description(t: MaskedText, after: int) -> str | None:
        """What the invoice is for: the words after the last "for"/"memo" that are not the name or amount."""
        m = t.m
        cues = [c for c in keywords.DESCRIPTION.finditer(m) if c.start() >= after]
        for cue in reversed(cues):
            text = t.orig_unmasked(cue.end(), len(m))
            text = keywords.TRAILING.sub("", text.strip(" \"'.,;:!?")).strip(" \"'.,;:!?")
            if text and re.search(r"[^\W\d_]", text):
                return text[:4000]
        return None


def _validated(payload: dict[str, Any]) -> QboIntent:
    try:
        return QboIntent.model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'intent'}: {e['msg']}" for e in exc.errors()
        )
        raise ParseError(f"the question reads as an invalid request ({problems})") from exc
