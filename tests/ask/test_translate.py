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
        filters={"status": "unpaid", "date_from": "2026-11-01", "date_to": "2026-11-30", "min_amount": 1000},
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
    assert t.notes[0] == "window: all dates (a total or count is never cut to the list window)"


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
    assert t.notes == [
        "window: the last 90 days of TxnDate (from 2026-09-02): no date range, party or status given; "
        "ask with dates for more"
    ]


@pytest.mark.parametrize(
    ("intent", "message"),
    [
        ({"operation": "LIST_PAYMENTS", "filters": {"status": "unpaid"}}, "no balance"),
        ({"operation": "LIST_INVOICES", "filters": {"customerName": "Nobody Inc"}}, "no customer named"),
        ({"operation": "LIST_BILLS", "filters": {"customerName": "Acme Corp"}}, "not filtered by customer"),
        ({"operation": "LIST_CUSTOMERS", "filters": {"dateFrom": "2026-01-01"}}, "no transaction date"),
        ({"operation": "CREATE_INVOICE", "record": {"customerName": "Acme Corp"}}, "approval queue"),
    ],
)
def test_what_cannot_be_asked_is_refused_with_a_reason(intent: dict, message: str) -> None:
    with pytest.raises(Refused, match=message):
        translate(QboIntent.from_wire(intent), "1", TODAY, resolve)


@pytest.mark.parametrize(
    ("intent", "field"),
    [
        ({"operation": "DELETE_INVOICE"}, "operation"),
        ({"operation": "LIST_INVOICES", "pagination": {"pageSize": 5000}}, "pagination.pageSize"),
        ({"operation": "LIST_INVOICES", "pagination": {"pageSize": 0}}, "pagination.pageSize"),
        ({"operation": "LIST_INVOICES", "pagination": {"page": 0}}, "pagination.page"),
        (
            {"operation": "LIST_INVOICES", "filters": {"dateFrom": "2026-02-01", "dateTo": "2026-01-01"}},
            "dateFrom is after dateTo",
        ),
        ({"operation": "LIST_INVOICES", "filters": {"minAmount": 5, "maxAmount": 1}}, "minAmount is above"),
        ({"operation": "LIST_INVOICES", "filters": {"minAmount": -1}}, "filters.minAmount"),
        ({"operation": "LIST_INVOICES", "filters": {"status": "closed"}}, "filters.status"),
        ({"operation": "CREATE_BILL"}, "record"),
        ({"operation": "GET_INVOICE"}, "qboId"),
        ({"operation": "LIST_INVOICES", "sql": "DROP TABLE x"}, "sql"),
        # the snake_case names were never the spec's: on the wire they are unknown fields, named
        ({"operation": "LIST_INVOICES", "filters": {"customer_name": "Acme Corp"}}, "filters.customer_name"),
        ({"operation": "LIST_INVOICES", "filters": {"amount_min": 1000}}, "filters.amount_min"),
        ({"operation": "LIST_INVOICES", "page": {"size": 10}}, "page\n  Extra inputs"),
        ({"operation": "LIST_INVOICES", "pagination": {"page_size": 10}}, "pagination.page_size"),
        ({"operation": "LIST_INVOICES", "realm_id": "1"}, "realm_id\n  Extra inputs"),
    ],
)
def test_the_intent_model_refuses_what_the_allowlist_and_qbo_do_not_allow(intent: dict, field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        QboIntent.from_wire(intent)


def test_the_schema_an_orchestrator_gets_lists_only_allowed_operations() -> None:
    schema = intent_schema()
    operations = schema["properties"]["operation"]["enum"]
    assert "CREATE_INVOICE" in operations and not any(o.startswith(("DELETE", "VOID")) for o in operations)
    assert schema["$defs"]["Pagination"]["properties"]["pageSize"]["maximum"] == 1000


def test_the_schema_is_the_specs_qbo_intent_with_camel_case_additions() -> None:
    schema = intent_schema()
    assert schema["$id"] == "qbo-elt/ask/QboIntent" and schema["title"] == "QboIntent"
    assert schema["required"] == ["operation"] and schema["additionalProperties"] is False
    assert schema["properties"]["operation"]["enum"] == [
        "LIST_INVOICES", "GET_INVOICE", "LIST_CUSTOMERS", "GET_CUSTOMER",
        "LIST_PAYMENTS", "LIST_BILLS", "CREATE_INVOICE", "CREATE_BILL",
    ]  # fmt: skip
    properties = [
        "operation", "filters", "aggregate", "groupBy", "orderBy", "orderDirection", "top",
        "pagination", "realmId", "record",
    ]  # fmt: skip
    assert list(schema["properties"]) == properties
    filters = schema["$defs"]["Filters"]
    assert set(filters["properties"]) == {
        "customerName", "status", "dateFrom", "dateTo", "minAmount", "maxAmount",  # the spec's
        "vendorName", "docNumber", "qboId",  # this project's
        "dueFrom", "dueTo", "minDaysPastDue", "maxDaysPastDue", "agingBucket",  # money owed
    }  # fmt: skip
    assert filters["additionalProperties"] is False
    assert {"format": "date", "type": "string"} in filters["properties"]["dateFrom"]["anyOf"]
    amounts = filters["properties"]["minAmount"]["anyOf"]
    assert {"minimum": 0.0, "exclusiveMaximum": 1e13, "type": "number"} in amounts
    statuses = filters["properties"]["status"]["anyOf"][0]["enum"]
    assert {"Open", "open", "unpaid", "overdue", "paid"} <= set(statuses)
    pagination = schema["$defs"]["Pagination"]["properties"]
    assert pagination["page"]["minimum"] == 1
    assert (pagination["pageSize"]["minimum"], pagination["pageSize"]["maximum"]) == (1, 1000)


@pytest.mark.parametrize(
    ("status", "internal"),
    [("Open", "open"), ("open", "open"), ("OPEN", "open"), ("unpaid", "unpaid"), ("Unpaid", "unpaid"),
     ("overdue", "overdue"), ("Overdue", "overdue"), ("paid", "paid"), ("PAID", "paid"),
     ("Voided", "voided")],
)  # fmt: skip
def test_a_status_is_taken_in_any_case(status: str, internal: str) -> None:
    intent = QboIntent.from_wire({"operation": "LIST_INVOICES", "filters": {"status": status}})
    assert intent.filters.status == internal
    assert intent.wire()["filters"] == {"status": internal}


def test_page_n_of_size_s_is_rows_n_minus_1_times_s_plus_1_to_n_times_s() -> None:
    intent = QboIntent.from_wire({"operation": "LIST_BILLS", "pagination": {"page": 3, "pageSize": 50}})
    t = translate(intent, "1", TODAY, resolve)
    assert t.qbo_query.endswith("STARTPOSITION 101 MAXRESULTS 50")  # rows 101 .. 150
    assert t.sql.endswith("LIMIT 50 OFFSET 100")
    first = translate(QboIntent.from_wire({"operation": "LIST_BILLS"}), "1", TODAY, resolve)
    assert first.qbo_query.endswith("STARTPOSITION 1 MAXRESULTS 100")  # page 1 of 100 unless asked


def test_an_intent_is_shown_and_stored_in_the_wire_names() -> None:
    intent = QboIntent(
        operation="LIST_INVOICES",
        filters={"customer_name": "Acme", "status": "open", "date_from": "2026-01-01", "min_amount": "1000"},
        pagination={"page": 2, "page_size": 25},
        realm_id="123",
    )
    wire = {
        "operation": "LIST_INVOICES",
        "filters": {"customerName": "Acme", "status": "open", "dateFrom": "2026-01-01", "minAmount": 1000},
        "pagination": {"page": 2, "pageSize": 25},
        "realmId": "123",
    }
    assert intent.wire() == wire  # an amount is a JSON number, as the spec has it
    assert QboIntent.from_wire(wire) == intent == QboIntent.from_wire_json(intent.wire_json())
    assert QboIntent(operation="LIST_BILLS", filters={"min_amount": "10.5"}).wire()["filters"] == {
        "minAmount": 10.5
    }


@pytest.mark.parametrize("amount", ["1E+5000", 1e13, "12.345", -1])
def test_an_amount_no_qbo_record_can_have_is_refused_naming_the_field(amount: object) -> None:
    with pytest.raises(ValidationError, match=r"filters\.minAmount"):
        QboIntent.from_wire({"operation": "LIST_INVOICES", "filters": {"minAmount": amount}})


def test_overdue_and_days_past_due_are_due_dates_seen_from_today_in_both_languages() -> None:
    overdue = translate(QboIntent.from_wire({"operation": "LIST_INVOICES", "filters": {"status": "overdue"}}),
                        "1", TODAY, resolve)  # fmt: skip
    assert "Balance > '0' AND DueDate <= '2026-11-30'" in overdue.qbo_query
    assert "coalesce(t.due_date, t.txn_date) <= ?" in overdue.sql and date(2026, 11, 30) in overdue.params
    assert "TxnDate" not in overdue.qbo_query.split("ORDERBY")[0]  # no 90-day window: owed money narrows it
    aged = translate(
        QboIntent.from_wire({"operation": "LIST_BILLS", "filters": {"agingBucket": "31-60"}}),
        "1",
        TODAY,
        resolve,
    )
    assert "Balance > '0' AND DueDate >= '2026-10-02' AND DueDate <= '2026-10-31'" in aged.qbo_query


def test_a_total_is_never_cut_to_the_list_window_and_sums_what_is_still_owed() -> None:
    t = translate(QboIntent.from_wire({"operation": "LIST_BILLS", "filters": {"status": "unpaid"},
                                       "aggregate": "sum"}), "1", TODAY, resolve)  # fmt: skip
    assert "TxnDate" not in t.qbo_query.split("ORDERBY")[0] and "txn_date >=" not in t.sql
    assert "sum(t.balance)" in t.sql and t.measure == "Balance"
    assert t.notes[0] == "window: all dates (a total or count is never cut to the list window)"


def test_a_ranking_groups_orders_and_limits_in_sql_with_one_group_more_to_tell_there_are_more() -> None:
    intent = QboIntent.from_wire({"operation": "LIST_INVOICES", "filters": {"status": "open"},
                                  "aggregate": "sum", "groupBy": "customer", "top": 5})  # fmt: skip
    t = translate(intent, "1", TODAY, resolve, "postgres")
    assert "GROUP BY t.customer, p.display_name" in t.sql
    assert t.sql.endswith('ORDER BY coalesce(sum(t.balance), 0) DESC, p.display_name COLLATE "C" ASC LIMIT 6')
    months = translate(QboIntent.from_wire({"operation": "LIST_PAYMENTS", "aggregate": "count",
                                            "groupBy": "month"}), "1", TODAY, resolve)  # fmt: skip
    assert "ORDER BY CAST(date_trunc('month', t.txn_date) AS DATE) ASC LIMIT 101" in months.sql


@pytest.mark.parametrize(
    ("intent", "field"),
    [
        ({"operation": "LIST_INVOICES", "groupBy": "customer"}, "groupBy needs aggregate"),
        ({"operation": "LIST_BILLS", "aggregate": "sum", "groupBy": "customer"}, "groupBy"),
        ({"operation": "LIST_CUSTOMERS", "aggregate": "sum", "groupBy": "month"}, "groupBy applies"),
        ({"operation": "LIST_INVOICES", "aggregate": "sum", "groupBy": "month", "top": 101}, "top"),
        ({"operation": "LIST_INVOICES", "top": 5}, "top counts groups"),
        ({"operation": "LIST_INVOICES", "aggregate": "sum", "orderBy": "amount"}, "orderBy"),
        ({"operation": "LIST_INVOICES", "aggregate": "median"}, "aggregate"),
        ({"operation": "LIST_INVOICES", "filters": {"minDaysPastDue": -1}}, "filters.minDaysPastDue"),
        (
            {"operation": "LIST_INVOICES", "filters": {"minDaysPastDue": 9, "maxDaysPastDue": 3}},
            "minDaysPastDue",
        ),
        ({"operation": "LIST_INVOICES", "filters": {"agingBucket": "91-120"}}, "filters.agingBucket"),
        (
            {"operation": "LIST_INVOICES", "filters": {"dueFrom": "2026-02-01", "dueTo": "2026-01-01"}},
            "dueFrom",
        ),
        ({"operation": "LIST_INVOICES", "filters": {"status": "paid", "minDaysPastDue": 1}}, "still owed"),
        ({"operation": "LIST_INVOICES", "orderDirection": "asc"}, "orderDirection needs orderBy"),
    ],
)
def test_rankings_and_due_filters_are_validated_naming_the_field(intent: dict, field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        QboIntent.from_wire(intent)


def test_a_contradictory_due_range_is_refused() -> None:
    intent = QboIntent.from_wire(
        {"operation": "LIST_INVOICES", "filters": {"status": "overdue", "dueFrom": "2026-12-05"}}
    )
    with pytest.raises(Refused, match="no due date is both"):
        translate(intent, "1", TODAY, resolve)
