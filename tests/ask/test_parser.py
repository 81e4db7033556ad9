"""The offline parser against a corpus of phrasings, its refusals, and the LLM adapter with a fake model."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from pipelines.ask.intent import QboIntent, intent_schema
from pipelines.ask.llm_parser import LlmParser
from pipelines.ask.names import NameIndex
from pipelines.ask.rule_parser import IntentParser, ParseError, RuleParser

CORPUS_PATH = Path(__file__).with_name("corpus.yaml")
FILTERS = (  # the spec's names (§11.1), then this project's camelCase additions
    "customerName",
    "status",
    "dateFrom",
    "dateTo",
    "minAmount",
    "maxAmount",
    "vendorName",
    "docNumber",
    "qboId",
    "dueFrom",
    "dueTo",
    "minDaysPastDue",
    "maxDaysPastDue",
    "agingBucket",
)
RANKING = ("groupBy", "orderBy", "orderDirection", "top")  # absent in a case: must be absent


@cache
def corpus() -> dict[str, Any]:
    return yaml.safe_load(CORPUS_PATH.read_text(encoding="utf-8"))


TODAY: date = corpus()["today"]


@pytest.fixture(scope="module")
def parser() -> RuleParser:
    return RuleParser(NameIndex(corpus()["customers"], corpus()["vendors"]))


def _expected(value: Any) -> Any:
    return Decimal(str(value)) if isinstance(value, int | float) else value


def test_corpus_is_large_and_ids_unique() -> None:
    ids = [case["id"] for case in corpus()["cases"]]
    assert len(ids) >= 60
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("case", corpus()["cases"], ids=[c["id"] for c in corpus()["cases"]])
def test_corpus(parser: RuleParser, case: dict[str, Any]) -> None:
    intent = parser.parse(case["text"], TODAY)
    assert intent.operation == case["operation"]
    expected = {k: _expected(v) for k, v in (case.get("filters") or {}).items()}
    assert set(expected) <= set(FILTERS), f"corpus typo: {set(expected) - set(FILTERS)}"
    got = intent.filters.model_dump(by_alias=True, exclude_none=True)  # Python values, wire names
    assert got == expected
    assert intent.aggregate == case.get("aggregate")
    wire = intent.wire()
    assert {k: wire[k] for k in RANKING if k in wire} == {k: case[k] for k in RANKING if k in case}
    assert intent.record == case.get("record")
    if "pagination" in case:
        assert intent.pagination.model_dump(by_alias=True) == case["pagination"]
    assert intent.realm_id == case.get("realmId")


@pytest.mark.parametrize(
    "text",
    [
        "delete invoice 1043",
        "void invoice #1043",
        "please void the invoice for Acme Corp",
        "can you cancel invoice 1043",
        "deactivate customer Acme Corp",
        "remove all bills from Staples",
        "drop table invoices",
        "DELETE FROM invoices WHERE 1=1",
        "write off the unpaid invoices for O'Brien & Sons",
    ],
)
def test_destructive_verbs_are_refused(parser: RuleParser, text: str) -> None:
    with pytest.raises(ParseError, match="destructive operations"):
        parser.parse(text, TODAY)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "empty"),
        ("what's the weather like?", "could not tell what to look up"),
        ("tell me a joke", "could not tell what to look up"),
        ("update invoice 1043 to $20", "changing existing records"),
        ("invoices for Globex Industries", "no customer or vendor named 'Globex Industries'"),
        ("create an invoice for Acme Corp", "how much"),
        ("create an invoice for $500", "which customer"),
        ("create a bill from Acme Corporation Ltd for $100", "is a customer"),
        ("create an invoice for Staples for $100", "is a vendor"),
        ("bills from O'Brien & Sons", "is a customer"),
        ("tell me about Staples", "is a vendor"),
        ("invoices 500", "not sure what '500'"),
        ("invoices between 2026-03-01 and 2026-01-01", "do not overlap"),
        ("invoices on 2026-02-30", "not a date"),
        ("top 5000 invoices", "at most 1,000|less than or equal to 1000"),
    ],
)
def test_not_understood(parser: RuleParser, text: str, says: str) -> None:
    with pytest.raises(ParseError, match=says) as caught:
        parser.parse(text, TODAY)
    assert "Questions that work:" in str(caught.value)  # every refusal shows what does work


def test_suggests_the_close_name(parser: RuleParser) -> None:
    with pytest.raises(ParseError, match="did you mean 'Northwind Supplies'"):
        parser.parse("bills from Northwest Supply", TODAY)


def test_without_an_index_capitalised_or_quoted_names_are_taken_as_written() -> None:
    bare = RuleParser(NameIndex())
    assert (
        bare.parse("unpaid invoices for Globex Industries", TODAY).filters.customer_name
        == "Globex Industries"
    )
    quoted = bare.parse('bills from "Initech; DROP TABLE bills" this month', TODAY)
    assert quoted.operation == "LIST_BILLS"
    assert quoted.filters.vendor_name == "Initech; DROP TABLE bills"


def test_since_a_month_not_yet_reached_this_year_is_last_years() -> None:
    intent = RuleParser().parse("invoices since December", date(2026, 11, 15))
    assert (intent.filters.date_from, intent.filters.date_to) == (date(2025, 12, 1), date(2026, 11, 15))


def test_same_question_same_answer(parser: RuleParser) -> None:
    text = "How much did Acme Corp pay us this quarter?"
    assert parser.parse(text, TODAY) == parser.parse(text, TODAY)


def test_rule_parser_is_an_intent_parser(parser: RuleParser) -> None:
    def ask(p: IntentParser) -> QboIntent:
        return p.parse("list customers", TODAY)

    assert ask(parser).operation == "LIST_CUSTOMERS"


# ---------------------------------------------------------------------------------------------- NameIndex
def test_name_index_find_prefers_longest_and_returns_display_name() -> None:
    index = NameIndex(["Acme Corp", "Acme Corporation Ltd"], ["Staples"])
    text = "what does ACME CORPORATION LTD owe?"
    found = index.find(text)
    assert found is not None
    assert found.name == "Acme Corporation Ltd"
    assert text[found.start : found.end] == "ACME CORPORATION LTD"
    assert index.find("invoices for acme corp's team").name == "Acme Corp"  # type: ignore[union-attr]
    assert index.find("nothing here") is None
    spaced = "bills from  Acme   Corp today"
    found = index.find(spaced)
    assert found is not None
    assert spaced[found.start : found.end] == "Acme   Corp"
    assert len(index) == 3


def test_name_index_from_warehouse(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA staging")
        for table in ("stg_qbo__customers", "stg_qbo__vendors"):
            con.execute(
                f"CREATE TABLE staging.{table} (realm_id VARCHAR, display_name VARCHAR, is_deleted BOOLEAN)"
            )
        con.executemany(
            "INSERT INTO staging.stg_qbo__customers VALUES (?, ?, ?)",
            [("1", "Acme Corp", False), ("1", "Gone Ltd", True), ("2", "Other Realm Inc", False)],
        )
        con.execute("INSERT INTO staging.stg_qbo__vendors VALUES ('1', 'Staples', false)")
    index = NameIndex.from_warehouse(path, realm_id="1")
    assert index.kinds("acme corp") == {"customer"}
    assert index.kinds("Staples") == {"vendor"}
    assert not index.kinds("Gone Ltd")
    assert not index.kinds("Other Realm Inc")
    assert NameIndex.from_warehouse(path).kinds("Other Realm Inc") == {"customer"}


def test_name_index_from_warehouse_without_vendors(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA staging")
        con.execute(
            "CREATE TABLE staging.stg_qbo__customers"
            " (realm_id VARCHAR, display_name VARCHAR, is_deleted BOOLEAN)"
        )
        con.execute("INSERT INTO staging.stg_qbo__customers VALUES ('1', 'Acme Corp', false)")
    assert len(NameIndex.from_warehouse(path)) == 1


# ---------------------------------------------------------------------------------------------- LlmParser
class FakeModel:
    """A `complete` that records its prompts and answers with a canned text."""

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.prompts: list[str] = []

    def __call__(self, prompt: str) -> str:
        self.prompts.append(prompt)
        return self.answer


def test_llm_parser_accepts_valid_json() -> None:
    answer = {
        "operation": "LIST_PAYMENTS",
        "filters": {"customerName": "Acme Corp", "dateFrom": "2026-10-01", "dateTo": "2026-12-31"},
        "aggregate": "sum",
    }
    model = FakeModel(json.dumps(answer))
    intent = LlmParser(model).parse("How much did Acme Corp pay us this quarter?", TODAY)
    assert intent.operation == "LIST_PAYMENTS"
    assert intent.filters.customer_name == "Acme Corp"
    assert intent.aggregate == "sum"
    (prompt,) = model.prompts
    assert "2026-12-01" in prompt
    assert "How much did Acme Corp pay us this quarter?" in prompt
    assert json.dumps(intent_schema(), indent=1, sort_keys=True) in prompt
    assert "filters.customerName" in prompt and "customer_name" not in prompt  # it asks for the spec's names


def test_llm_parser_accepts_the_specs_own_example_answer() -> None:
    """§11.2's "LLM output", as printed there: the status in any case, the amount a number."""
    answer = """{
      "operation": "LIST_INVOICES",
      "filters": {"status": "Open", "dateFrom": "2026-01-01", "dateTo": "2026-01-31", "minAmount": 1000}
    }"""
    intent = LlmParser(FakeModel(answer)).parse("unpaid invoices from last month over 1000", TODAY)
    assert intent.wire() == {
        "operation": "LIST_INVOICES",
        "filters": {"status": "open", "dateFrom": "2026-01-01", "dateTo": "2026-01-31", "minAmount": 1000},
        "pagination": {"page": 1, "pageSize": 100},
    }


def test_llm_parser_accepts_a_fenced_answer() -> None:
    model = FakeModel('```json\n{"operation": "LIST_CUSTOMERS"}\n```')
    assert LlmParser(model).parse("who are our customers?", TODAY).operation == "LIST_CUSTOMERS"


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        ("Sure! Here are the invoices you asked for.", "not JSON"),
        ('{"operation": "DELETE_INVOICE"}', "not a valid request"),
        (
            '{"operation": "LIST_INVOICES", "filters": {"minAmount": 5, "maxAmount": 1}}',
            "not a valid request",
        ),
        ('{"operation": "CREATE_INVOICE"}', "not a valid request"),
        ('{"operation": "LIST_INVOICES", "sql": "DROP TABLE invoices"}', "not a valid request"),
        (  # the old snake_case names are not the wire's: refused, naming the field
            '{"operation": "LIST_INVOICES", "filters": {"customer_name": "Acme Corp"}}',
            "filters.customer_name: Extra inputs are not permitted",
        ),
        ('{"error": "deleting invoices is not possible"}', "could not answer: deleting invoices"),
        ("[]", "not a valid request"),
    ],
)
def test_llm_parser_refuses_invalid_output(answer: str, says: str) -> None:
    with pytest.raises(ParseError, match=says):
        LlmParser(FakeModel(answer)).parse("delete everything", TODAY)
