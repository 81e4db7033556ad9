"""The README's example analyst queries (docs/analyst_queries.sql) answer on the demo warehouse, with
names where people expect names: the text the README points to is the text run here."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.demo_runs import DemoRun

RUNNER = Path(__file__).resolve().parents[2] / "docs" / "analyst_queries.py"

# each query's columns, and those of them that name something (never empty on the demo company)
EXPECTED = {
    "open_ar_by_customer": (
        [
            "customer_name",
            "open_invoices",
            "total_open",
            "current_amount",
            "days_1_30",
            "days_31_60",
            "days_61_90",
            "over_90",
        ],
        ["customer_name"],
    ),
    "sales_by_month": (["month", "invoices", "invoiced", "still_open"], ["month"]),
    "top_items": (["item_name", "invoices", "quantity", "revenue"], ["item_name"]),
    "open_bills_by_vendor": (["vendor_name", "open_bills", "owed", "first_due"], ["vendor_name"]),
    "drift_per_entity": (["entity", "records", "fields", "to_push", "to_pull", "to_review"], ["entity"]),
    "sync_issues": (["issue", "entity", "records", "what_to_do"], ["issue", "what_to_do"]),
}


@pytest.fixture(scope="module")
def runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("analyst_queries", RUNNER)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_the_file_holds_the_queries_the_readme_lists(runner: ModuleType) -> None:
    queries = runner.read_queries()
    assert [q.name for q in queries] == list(EXPECTED)
    assert all(q.question.endswith(("?", ")")) and q.sql.lower().startswith("select") for q in queries)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_query_answers_on_the_demo_warehouse(runner: ModuleType, demo_run: DemoRun, name: str) -> None:
    (query,) = [q for q in runner.read_queries() if q.name == name]
    columns, rows = runner.run(str(demo_run.warehouse), query)
    expected, named = EXPECTED[name]
    assert columns == expected
    assert rows, f"{name} answers nothing on the demo company"
    for column in named:
        position = columns.index(column)
        assert all(row[position] not in (None, "") for row in rows), f"{name}: a row without {column}"


def test_the_runner_prints_one_answer_and_refuses_an_unknown_name(
    runner: ModuleType, demo_run: DemoRun, capsys: pytest.CaptureFixture[str]
) -> None:
    assert runner.main(["open_bills_by_vendor", "--warehouse", str(demo_run.warehouse)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("-- open_bills_by_vendor: What do we still owe each vendor?\nvendor_name")
    assert runner.main(["open_bills", "--warehouse", str(demo_run.warehouse)]) == 2
    assert "no query named open_bills; there are: open_ar_by_customer" in capsys.readouterr().err
