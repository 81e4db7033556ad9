"""Intents as queries: balance is not amount, names are data in both languages, broad questions are
bounded, and what cannot be asked is refused with the field named."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from pipelines.ask.intent import QboIntent, intent_schema
from pipelines.ask.translate import Refused, translate

TODAY = date(2026, 12, 1)
IDS = {("Customer", "Acme Corp"): "12", ("Customer", "O'Brien & Sons"): "7", ("Vendor", "Paper Co"): "3"}


def resolve(entity: str, name: str) -> str | None:
    return IDS.get((entity, name))


def test_unpaid_invoices_last_month_over_1000_filter_balance_for_status_and_total_for_amount() -> None:
    intent = QboIntent(
        operation="LIST_INVOICES",
        filters={"status": "unpaid", "date_from": "2026-11-01", "date_to": "2026-11-30", "amount_min": 1000},
    )
    t = translate(intent, "123", TODAY, resolve)
    assert t.qbo_query == (
        "SELECT * FROM Invoice WHERE Balance > '0' AND TxnDate >= '2026-11-01' AND TxnDate <= '2026-11-30' "
        "AND TotalAmt >= '1000.00' ORDERBY TxnDate DESC STARTPOSITION 1 MAXRESULTS 100"
    )
    assert "t.balance > 0" in t.sql and "t.total_amount >= ?" in t.sql and "t.balance >= ?" not in t.sql
    assert t.params == ["123", date(2026, 11, 1), date(2026, 11, 30), 1000]


def test_a_customer_name_becomes_its_ref_for_qbo_and_a_bound_parameter_for_sql() -> None:
    intent = QboIntent(
        operation="LIST_PAYMENTS", aggregate="sum", filters={"customer_name": "O'Brien & Sons"}
    )
    t = translate(intent, "123", TODAY, resolve)
    assert "CustomerRef = '7'" in t.qbo_query and "O'Brien" not in t.qbo_query
    assert "O'Brien" not in t.sql and "O'Brien & Sons" in t.params
    assert t.sql.startswith("SELECT count(*) AS count, coalesce(sum(t.total_amount), 0) AS total")
    assert t.notes == []  # a party bounds it: no default window


def test_quotes_and_sql_fragments_in_names_stay_data() -> None:
    name = "Robert'); DROP TABLE customers;--"
    t = translate(QboIntent(operation="LIST_CUSTOMERS", filters={"customer_name": name}), "1", TODAY, resolve)
    assert "DisplayName LIKE '%Robert\\'); DROP TABLE customers;--%'" in t.qbo_query
    assert "DROP" not in t.sql and t.params[-1] == "%Robert'); DROP TABLE customers;--%"
    percent = translate(
        QboIntent(operation="LIST_CUSTOMERS", filters={"customer_name": "100%_Co"}), "1", TODAY, resolve
    )
    assert percent.params[-1] == "%100\\%\\_Co%"  # its own % and _ match themselves


def test_a_broad_question_gets_a_default_window_and_says_so() -> None:
    t = translate(QboIntent(operation="LIST_BILLS"), "1", TODAY, resolve)
    assert "TxnDate >= '2026-09-02'" in t.qbo_query
    assert t.notes == ["no date range or party given: limited to the last 90 days"]


@pytest.mark.parametrize(
    ("intent", "message"),
    [
        ({"operation": "LIST_PAYMENTS", "filters": {"status": "unpaid"}}, "no balance"),
        ({"operation": "LIST_INVOICES", "filters": {"customer_name": "Nobody Inc"}}, "no customer named"),
        ({"operation": "LIST_BILLS", "filters": {"customer_name": "Acme Corp"}}, "not filtered by customer"),
        ({"operation": "LIST_CUSTOMERS", "filters": {"date_from": "2026-01-01"}}, "no transaction date"),
        ({"operation": "CREATE_INVOICE", "record": {"customerName": "Acme Corp"}}, "approval queue"),
    ],
)
def test_what_cannot_be_asked_is_refused_with_a_reason(intent: dict, message: str) -> None:
    with pytest.raises(Refused, match=message):
        translate(QboIntent.model_validate(intent), "1", TODAY, resolve)


@pytest.mark.parametrize(
    ("intent", "field"),
    [
        ({"operation": "DELETE_INVOICE"}, "operation"),
        ({"operation": "LIST_INVOICES", "page": {"size": 5000}}, "page.size"),
        (
            {"operation": "LIST_INVOICES", "filters": {"date_from": "2026-02-01", "date_to": "2026-01-01"}},
            "filters",
        ),
        ({"operation": "CREATE_BILL"}, "record"),
        ({"operation": "GET_INVOICE"}, "qbo_id"),
        ({"operation": "LIST_INVOICES", "sql": "DROP TABLE x"}, "sql"),
    ],
)
def test_the_intent_model_refuses_what_the_allowlist_and_qbo_do_not_allow(intent: dict, field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        QboIntent.model_validate(intent)


def test_the_schema_an_orchestrator_gets_lists_only_allowed_operations() -> None:
    schema = intent_schema()
    operations = schema["properties"]["operation"]["enum"]
    assert "CREATE_INVOICE" in operations and not any(o.startswith(("DELETE", "VOID")) for o in operations)
    assert schema["$defs"]["Page"]["properties"]["size"]["maximum"] == 1000
