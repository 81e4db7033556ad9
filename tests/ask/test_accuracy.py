"""The accuracy suite (issue 17 item 6): questions of the phrasing corpus asked in words of the demo company
and answered through the real path (RuleParser over the warehouse's names, then Asker), each checked
against an answer this file computes by its own SQL over the staging models and the finance marts.

Nothing here calls the code under test to know what is right: the date ranges are worked out below from
the demo's today, the money owed is spelled out in SQL (Balance > 0; overdue: due before today), and
rankings are sorted in Python. The summary test reports the accuracy figure, which must be 100%.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ask.test_money_owed import as_of, ask
from tests.demo_runs import DemoRun

CORPUS = Path(__file__).with_name("corpus.yaml")
MAX_ROWS = 100  # a row list's page, and the most groups a ranking shows
Span = tuple[date, date]
Expect = Callable[[DemoRun, date], Any]


@cache
def questions() -> dict[str, str]:
    """The corpus's questions by id: the suite asks exactly what the parser's corpus holds."""
    cases = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))["cases"]
    return {case["id"]: case["text"] for case in cases}


# -- calendar spans, worked out here (not by pipelines/ask/dates.py) ------------------------------------
def year(today: date, back: int = 0) -> Span:
    return date(today.year - back, 1, 1), date(today.year - back, 12, 31)


def month(today: date, shift: int = 0) -> Span:
    index = today.year * 12 + today.month - 1 + shift
    first = date(index // 12, index % 12 + 1, 1)
    after = date((index + 1) // 12, (index + 1) % 12 + 1, 1)
    return first, after - timedelta(days=1)


def quarter(today: date, shift: int = 0) -> Span:
    index = today.year * 4 + (today.month - 1) // 3 + shift
    first = date(index // 4, index % 4 * 3 + 1, 1)
    return first, month(first, 2)[1]


def week(today: date, shift: int = 0) -> Span:
    monday = today - timedelta(days=today.weekday()) + timedelta(weeks=shift)
    return monday, monday + timedelta(days=6)


def cents(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# -- the SQL this suite writes ---------------------------------------------------------------------------
TABLES = {"invoices": "stg_qbo__invoices", "bills": "stg_qbo__bills", "payments": "stg_qbo__payments"}
PARTY = {
    "invoices": ("customer", "customers"),
    "bills": ("vendor", "vendors"),
    "payments": ("customer", "customers"),
}
DUE = "coalesce(t.due_date, t.txn_date)"  # QBO leaves DueDate empty on some: then it is due on its TxnDate
OWED = "t.balance > 0"
PAID = "t.balance = 0"


@dataclass(frozen=True)
class Where:
    """Conditions on one staging table (aliased t), with their parameters."""

    kind: str
    sql: str = "true"
    params: tuple[Any, ...] = ()
    measure: str = "total_amount"  # what a total adds up: balance when the question is about money owed

    @property
    def source(self) -> str:
        return f"FROM staging.{TABLES[self.kind]} t WHERE NOT t.is_deleted AND ({self.sql})"


def where(kind: str, sql: str = "true", *params: Any, owed: bool = False) -> Where:
    return Where(kind, sql, params, "balance" if owed else "total_amount")


def count_of(w: Where) -> Expect:
    def expect(run: DemoRun, today: date) -> list[list[Any]]:
        [(n,)] = run.rows(f"SELECT count(*) {w.source}", *w.params)
        return [[n]]

    return expect


def total_of(w: Where, average: bool = False) -> Expect:
    def expect(run: DemoRun, today: date) -> list[list[Any]]:
        [(n, total)] = run.rows(f"SELECT count(*), coalesce(sum(t.{w.measure}), 0) {w.source}", *w.params)
        row: list[Any] = [n, cents(total)]
        if average:
            row.append(cents(cents(total) / n) if n else None)
        return [row]

    return expect


def by_party(w: Where, top: int = MAX_ROWS, by_count: bool = False) -> Expect:
    """Groups by customer or vendor: most first (the total, or the count), then the name byte by byte."""
    column, names = PARTY[w.kind]

    def expect(run: DemoRun, today: date) -> list[list[Any]]:
        rows = run.rows(
            f"SELECT p.display_name, count(*), coalesce(sum(t.{w.measure}), 0) "
            f"FROM staging.{TABLES[w.kind]} t "
            f"LEFT JOIN staging.stg_qbo__{names} p ON p.realm_id = t.realm_id AND p.qbo_id = t.{column} "
            f"WHERE NOT t.is_deleted AND ({w.sql}) GROUP BY t.{column}, p.display_name",
            *w.params,
        )
        rows.sort(key=lambda r: (-(r[1] if by_count else r[2]), r[0] is None, (r[0] or "").encode()))
        return [[name, n, cents(total), cents(cents(total) / n)] for name, n, total in rows[:top]]

    return expect


def by_month(w: Where) -> Expect:
    def expect(run: DemoRun, today: date) -> list[list[Any]]:
        months: dict[str, list[Decimal]] = {}
        for day, amount in run.rows(f"SELECT t.txn_date, t.{w.measure} {w.source}", *w.params):
            months.setdefault(day.strftime("%Y-%m"), []).append(Decimal(str(amount)))
        return [
            [key, len(amounts), cents(sum(amounts)), cents(cents(sum(amounts)) / len(amounts))]
            for key, amounts in sorted(months.items())
        ]

    return expect


def ids_of(w: Where) -> Expect:
    """A row list's records, by QBO Id (as a set: the page holds them all)."""

    def expect(run: DemoRun, today: date) -> set[str]:
        found = {r[0] for r in run.rows(f"SELECT t.qbo_id {w.source}", *w.params)}
        assert len(found) <= MAX_ROWS, "pick a question whose list fits on one page"
        return found

    return expect


def aged(bucket: str) -> Expect:
    """Open invoices in an aging bucket of the finance mart `finance_open_invoices`."""

    def expect(run: DemoRun, today: date) -> set[str]:
        rows = run.rows(
            "SELECT invoice_qbo_id FROM finance.finance_open_invoices WHERE aging_bucket = ?", bucket
        )
        return {r[0] for r in rows}

    return expect


def active_customers(run: DemoRun, today: date) -> list[list[Any]]:
    """Customers are the live, active ones (QBO lists only active names by default)."""
    [(n,)] = run.rows(
        "SELECT count(*) FROM staging.stg_qbo__customers WHERE NOT is_deleted AND coalesce(active, true)"
    )
    return [[n]]


# -- each question: (corpus id, what its answer must be, given the demo's today) ---------------------------
def dated(kind: str, span: Span, sql: str = "true", owed: bool = False) -> Where:
    """Records of `kind` whose TxnDate is in the span."""
    return where(kind, f"({sql}) AND t.txn_date BETWEEN ? AND ?", *span, owed=owed)


def due(kind: str, first: date | None, last: date | None, owed: bool = False) -> Where:
    """Records of `kind` still owed whose due date is in [first, last] (either end open)."""
    sql, params = [OWED], []
    if first:
        sql.append(f"{DUE} >= ?")
        params.append(first)
    if last:
        sql.append(f"{DUE} <= ?")
        params.append(last)
    return where(kind, " AND ".join(sql), *params, owed=owed)


def days_ago(today: date, days: int) -> date:
    return today - timedelta(days=days)


INV, BILL, PAY = "invoices", "bills", "payments"


def cases() -> list[tuple[str, Callable[[date], Expect]]]:
    """(corpus id, its expected answer given the demo's today): built from today, since the demo's
    data, and so every date range, is relative to its run."""
    return [
        # counts
        ("everyday-count-invoices", lambda d: count_of(where(INV))),
        ("everyday-count-invoices-this-year", lambda d: count_of(dated(INV, year(d)))),
        ("everyday-count-invoices-last-month", lambda d: count_of(dated(INV, month(d, -1)))),
        ("everyday-count-bills", lambda d: count_of(where(BILL))),
        ("everyday-count-payments-this-year", lambda d: count_of(dated(PAY, year(d)))),
        ("everyday-count-paid-invoices", lambda d: count_of(where(INV, PAID))),
        ("everyday-count-unpaid-invoices", lambda d: count_of(where(INV, OWED))),
        ("count-unpaid-bills", lambda d: count_of(where(BILL, OWED))),
        ("everyday-count-overdue-bills", lambda d: count_of(due(BILL, None, days_ago(d, 1)))),
        ("how-many-overdue", lambda d: count_of(due(INV, None, days_ago(d, 1)))),
        ("everyday-count-invoices-over-1000", lambda d: count_of(where(INV, "t.total_amount >= 1000"))),
        ("everyday-count-invoices-q3", lambda d: count_of(dated(INV, quarter(date(d.year, 8, 1))))),
        ("count-bills-this-year", lambda d: count_of(dated(BILL, year(d)))),
        ("everyday-count-over-60-overdue", lambda d: count_of(due(INV, None, days_ago(d, 61)))),
        ("everyday-count-invoices-due-this-week", lambda d: count_of(due(INV, *week(d)))),
        ("everyday-count-customers", lambda d: active_customers),
        # totals: of what was invoiced or billed, or of what is still owed
        ("everyday-total-invoices", lambda d: total_of(where(INV))),
        ("everyday-total-invoiced-last-month", lambda d: total_of(dated(INV, month(d, -1)))),
        ("everyday-total-bills-this-year", lambda d: total_of(dated(BILL, year(d)))),
        ("everyday-total-payments-this-month", lambda d: total_of(dated(PAY, month(d)))),
        ("everyday-sum-of-bills-last-quarter", lambda d: total_of(dated(BILL, quarter(d, -1)))),
        ("sum-unpaid-bills", lambda d: total_of(where(BILL, OWED, owed=True))),
        ("everyday-total-open-bills", lambda d: total_of(where(BILL, OWED, owed=True))),
        ("everyday-total-overdue-bills", lambda d: total_of(due(BILL, None, days_ago(d, 1), owed=True))),
        ("overdue-total", lambda d: total_of(due(INV, None, days_ago(d, 1), owed=True))),
        ("everyday-total-outstanding", lambda d: total_of(where(INV, OWED, owed=True))),
        ("everyday-how-much-do-customers-owe", lambda d: total_of(where(INV, OWED, owed=True))),
        ("sum-we-owe", lambda d: total_of(where(BILL, OWED, owed=True))),
        ("everyday-total-paid-invoices-this-year", lambda d: total_of(dated(INV, year(d), PAID))),
        ("everyday-how-much-did-we-collect-last-month", lambda d: total_of(dated(PAY, month(d, -1)))),
        ("everyday-how-much-revenue-last-quarter", lambda d: total_of(dated(INV, quarter(d, -1)))),
        ("sum-sales-this-year", lambda d: total_of(dated(INV, year(d)))),
        ("everyday-total-31-60", lambda d: total_of(due(INV, days_ago(d, 60), days_ago(d, 31), owed=True))),
        ("everyday-total-bills-over-90", lambda d: total_of(due(BILL, None, days_ago(d, 91), owed=True))),
        ("everyday-total-not-yet-due", lambda d: total_of(due(INV, d, None, owed=True))),
        ("everyday-total-invoices-due-next-month", lambda d: total_of(due(INV, *month(d, 1), owed=True))),
        # averages
        ("everyday-average-invoice", lambda d: total_of(where(INV), average=True)),
        ("everyday-average-bill-this-year", lambda d: total_of(dated(BILL, year(d)), average=True)),
        ("everyday-average-payment", lambda d: total_of(where(PAY), average=True)),
        ("everyday-average-unpaid-bill", lambda d: total_of(where(BILL, OWED, owed=True), average=True)),
        (
            "everyday-average-invoice-amount-last-year",
            lambda d: total_of(dated(INV, year(d, 1)), average=True),
        ),
        ("overdue-average", lambda d: total_of(due(INV, None, days_ago(d, 1), owed=True), average=True)),
        # rankings and groups
        ("everyday-top-3-customers-by-open-balance", lambda d: by_party(where(INV, OWED, owed=True), 3)),
        ("everyday-who-owes-most-overdue", lambda d: by_party(due(INV, None, days_ago(d, 1), owed=True), 10)),
        ("everyday-which-vendor-do-we-owe-most", lambda d: by_party(where(BILL, OWED, owed=True), 1)),
        ("everyday-unpaid-bills-by-vendor", lambda d: by_party(where(BILL, OWED, owed=True))),
        ("everyday-bills-by-vendor", lambda d: by_party(where(BILL))),
        ("everyday-invoices-by-customer-this-year", lambda d: by_party(dated(INV, year(d)))),
        ("everyday-count-invoices-per-customer", lambda d: by_party(where(INV), by_count=True)),
        ("payments-by-customer", lambda d: by_party(dated(PAY, year(d)))),
        ("everyday-payments-by-month", lambda d: by_month(dated(PAY, year(d)))),
        ("everyday-monthly-sales", lambda d: by_month(dated(INV, year(d)))),
        ("everyday-invoices-by-month-last-year", lambda d: by_month(dated(INV, year(d, 1)))),
        ("everyday-bills-by-month-count", lambda d: by_month(dated(BILL, year(d)))),
        # row lists: every record asked for, and no other
        ("everyday-over-90-bucket", lambda d: aged("over 90")),
        ("everyday-invoices-61-90", lambda d: aged("61-90")),
        ("everyday-invoices-between-31-60-overdue", lambda d: aged("31-60")),
        ("everyday-bills-due-next-month", lambda d: ids_of(due(BILL, *month(d, 1)))),
        ("everyday-invoices-due-this-week", lambda d: ids_of(due(INV, *week(d)))),
        ("everyday-bills-due-next-7-days", lambda d: ids_of(due(BILL, d, d + timedelta(days=7)))),
        ("everyday-bills-over-90-days-overdue", lambda d: ids_of(due(BILL, None, days_ago(d, 91)))),
        ("everyday-paid-bills-last-month", lambda d: ids_of(dated(BILL, month(d, -1), PAID))),
    ]


CASES = dict(cases())


def answered(run: DemoRun, case_id: str) -> tuple[Any, Any]:
    """What the real path answered, and what this suite's own SQL says the answer is."""
    today = as_of(run)
    expected = CASES[case_id](today)(run, today)
    answer = ask(run, questions()[case_id])
    assert answer.ran_on == "warehouse"
    if isinstance(expected, set):
        return {row[answer.columns.index("qbo_id")] for row in answer.rows}, expected
    return answer.rows, expected


def test_every_question_is_in_the_corpus_and_there_are_enough() -> None:
    assert set(CASES) <= set(questions())
    assert len(CASES) >= 40
    assert len(questions()) >= 300


@pytest.mark.parametrize("case_id", list(CASES))
def test_question(demo_run: DemoRun, case_id: str) -> None:
    got, expected = answered(demo_run, case_id)
    assert got == expected, questions()[case_id]


def found_something(expected: Any) -> bool:
    """The expected answer holds records: a count or a total of none proves little."""
    return bool(expected) and not (isinstance(expected, list) and expected[0][0] == 0)


def test_accuracy_is_100_percent(demo_run: DemoRun, capsys: pytest.CaptureFixture[str]) -> None:
    wrong = []
    empty = []
    for case_id in CASES:
        try:
            got, expected = answered(demo_run, case_id)
        except Exception as error:  # a refusal or a crash is a wrong answer too
            wrong.append(f"{questions()[case_id]!r}: {error}")
            continue
        if not found_something(expected):
            empty.append(questions()[case_id])
        if got != expected:
            wrong.append(f"{questions()[case_id]!r}: got {got!r}, expected {expected!r}")
    right = len(CASES) - len(wrong)
    with capsys.disabled():
        print(f"\nask accuracy on the demo warehouse: {right}/{len(CASES)} = {right / len(CASES):.0%}")
        print(f"questions whose answer is empty or zero on the demo: {len(empty)}: {empty}")
    assert not wrong, "\n".join(wrong)
    assert len(empty) <= len(CASES) // 5, f"too many questions prove nothing on the demo: {empty}"
