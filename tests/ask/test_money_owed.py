"""Money owed, totals and rankings, asked in words and answered from the demo warehouse (and from QBO when
the warehouse is stale): each expected answer is computed here by SQL written for the test over the
staging models and the finance marts, never by the code under test (issue 17)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from pipelines.ask.names import NameIndex
from pipelines.ask.rule_parser import RuleParser
from pipelines.ask.run import Answer, Asker
from pipelines.runtime.connector import Connector
from pipelines.runtime.settings import Settings
from tests.demo_runs import DemoRun

LIVE = "NOT is_deleted"


def as_of(run: DemoRun) -> date:
    """The demo company's today: its data is generated relative to this day."""
    return date.fromisoformat(run.planted["as_of"])


def ask(run: DemoRun, question: str) -> Answer:
    settings = Settings(
        warehouse=run.workdir / "warehouse.duckdb",
        warehouse_url=run.warehouse_url,
        store_url=f"sqlite:///{run.workdir / 'integration.sqlite'}",
    )
    asker = Asker(Connector(settings), caller="test", fresh=timedelta(days=3650))
    intent = RuleParser(NameIndex.from_warehouse(run.warehouse)).parse(question, as_of(run))
    return asker.answer(intent, question, today=as_of(run))


def cents(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def column(answer: Answer, name: str) -> list[Any]:
    at = answer.columns.index(name)
    return [row[at] for row in answer.rows]


def test_total_unpaid_bills_is_every_open_balance_not_the_last_90_days(any_demo_run: DemoRun) -> None:
    answer = ask(any_demo_run, "total unpaid bills")
    [(count, total)] = any_demo_run.rows(
        f"SELECT count(*), sum(balance) FROM staging.stg_qbo__bills WHERE {LIVE} AND balance > 0"
    )
    assert answer.ran_on == "warehouse"
    assert answer.rows == [[count, cents(total)]]
    assert any(n.startswith("window: all dates") for n in answer.notes), answer.notes
    assert any("Balance (what is still owed)" in n for n in answer.notes)


def test_overdue_invoices_are_still_owed_and_past_their_due_date(demo_run: DemoRun) -> None:
    [(expected,)] = demo_run.rows(
        f"SELECT count(*) FROM staging.stg_qbo__invoices WHERE {LIVE} AND balance > 0 AND due_date < ?",
        as_of(demo_run),
    )
    assert expected > 6, "the demo has more overdue invoices than the last 90 days hold"
    assert ask(demo_run, "how many overdue invoices").rows == [[expected]]
    listed = ask(demo_run, "top 100 overdue invoices")
    assert len(listed.rows) == min(expected, 100)
    assert all(row[-1] > 0 for row in listed.rows)  # balance
    assert all(row[listed.columns.index("due_date")] < as_of(demo_run) for row in listed.rows)


@pytest.mark.parametrize(
    ("question", "bucket"),
    [
        ("invoices more than 90 days past due", "over 90"),
        ("invoices 61-90 days past due", "61-90"),
        ("invoices between 31 and 60 days overdue", "31-60"),
        ("invoices 1 to 30 days past due", "1-30"),
        ("invoices not yet due", "current"),
    ],
)
def test_aging_matches_the_finance_marts_buckets(demo_run: DemoRun, question: str, bucket: str) -> None:
    expected = demo_run.rows(
        "SELECT invoice_qbo_id FROM finance.finance_open_invoices WHERE aging_bucket = ? ORDER BY 1", bucket
    )
    answer = ask(demo_run, question)
    assert answer.intent.filters.min_amount is None  # 90 is days, not dollars
    assert sorted(column(answer, "qbo_id")) == sorted(r[0] for r in expected)


def test_aging_totals_add_up_to_the_ar_aging_mart(demo_run: DemoRun) -> None:
    [(over_90,)] = demo_run.rows("SELECT sum(over_90) FROM finance.finance_ar_aging")
    answer = ask(demo_run, "total of invoices over 90 days past due")
    assert column(answer, "total") == [cents(over_90)]


def test_top_5_customers_by_open_balance(any_demo_run: DemoRun) -> None:
    expected = any_demo_run.rows(
        "SELECT c.display_name, count(*), sum(i.balance) FROM staging.stg_qbo__invoices i "
        "JOIN staging.stg_qbo__customers c ON c.realm_id = i.realm_id AND c.qbo_id = i.customer "
        "WHERE NOT i.is_deleted AND i.balance > 0 GROUP BY c.display_name"
    )
    expected.sort(key=lambda r: (-r[2], r[0].encode()))
    answer = ask(any_demo_run, "top 5 customers by open balance")
    assert answer.columns == ["customer", "count", "total", "average"]
    assert [row[:3] for row in answer.rows] == [[n, c, cents(t)] for n, c, t in expected[:5]]
    assert ask(any_demo_run, "who owes us the most").rows[0][0] == expected[0][0]


def test_sales_by_month_this_year(any_demo_run: DemoRun) -> None:
    today = as_of(any_demo_run)
    rows = any_demo_run.rows(
        f"SELECT txn_date, total_amount FROM staging.stg_qbo__invoices WHERE {LIVE} AND txn_date >= ?",
        date(today.year, 1, 1),
    )
    months: dict[str, list[Decimal]] = {}
    for day, amount in rows:
        months.setdefault(day.strftime("%Y-%m"), []).append(amount)
    answer = ask(any_demo_run, "sales by month this year")
    assert [row[:3] for row in answer.rows] == [
        [month, len(amounts), cents(sum(amounts))] for month, amounts in sorted(months.items())
    ]


def test_average_invoice_this_year(demo_run: DemoRun) -> None:
    today = as_of(demo_run)
    [(count, total)] = demo_run.rows(
        f"SELECT count(*), sum(total_amount) FROM staging.stg_qbo__invoices WHERE {LIVE} "
        "AND txn_date BETWEEN ? AND ?",
        date(today.year, 1, 1),
        date(today.year, 12, 31),
    )
    answer = ask(demo_run, "average invoice this year")
    assert answer.columns == ["count", "total", "average"]
    assert answer.rows == [[count, cents(total), cents(Decimal(total) / count)]]


def test_bills_due_next_week_filter_on_the_due_date(demo_run: DemoRun) -> None:
    today = as_of(demo_run)
    monday = today - timedelta(days=today.weekday()) + timedelta(weeks=1)
    expected = demo_run.rows(
        f"SELECT qbo_id FROM staging.stg_qbo__bills WHERE {LIVE} AND balance > 0 "
        "AND due_date BETWEEN ? AND ?",
        monday,
        monday + timedelta(days=6),
    )
    answer = ask(demo_run, "bills due next week")
    assert answer.intent.filters.due_from == monday and answer.intent.filters.date_from is None
    assert sorted(column(answer, "qbo_id")) == sorted(r[0] for r in expected)


def test_a_plain_list_says_it_was_cut_to_90_days_and_a_count_says_it_was_not(demo_run: DemoRun) -> None:
    listed = ask(demo_run, "list all invoices")
    assert any(n.startswith("window: the last 90 days") for n in listed.notes)
    [(all_invoices,)] = demo_run.rows(f"SELECT count(*) FROM staging.stg_qbo__invoices WHERE {LIVE}")
    counted = ask(demo_run, "how many invoices")
    assert counted.rows == [[all_invoices]]
    assert any(n.startswith("window: all dates") for n in counted.notes)


# -- QBO answers the same when the warehouse is stale: it has no GROUP BY or SUM, so its rows are added up


@pytest.mark.parametrize(
    "intent",
    [
        {"operation": "LIST_BILLS", "filters": {"status": "unpaid"}, "aggregate": "sum"},
        {"operation": "LIST_INVOICES", "filters": {"status": "overdue"}, "aggregate": "count"},
        {"operation": "LIST_INVOICES", "aggregate": "avg"},
        {"operation": "LIST_INVOICES", "filters": {"status": "open"}, "aggregate": "sum",
         "groupBy": "customer", "top": 5},
        {"operation": "LIST_INVOICES", "aggregate": "count", "groupBy": "month"},
        {"operation": "LIST_BILLS", "aggregate": "sum", "groupBy": "vendor", "orderBy": "count"},
        {"operation": "LIST_INVOICES", "filters": {"minDaysPastDue": 31}, "aggregate": "sum"},
    ],
)  # fmt: skip
def test_qbo_adds_up_and_ranks_as_the_warehouse_does(both_ways: Callable[..., Any], intent: dict) -> None:
    from_qbo, from_warehouse = both_ways(intent)
    assert from_qbo.rows == from_warehouse.rows
    assert from_qbo.rows
