"""Names as people say them: the start or a part of a name, any case, accent or punctuation, a
possessive, without its Inc/LLC/Co.; a phrase several names answer to is asked back with the candidates,
an unknown name gets the three closest. On lists, and on the demo company's real names (read by SQL)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from pipelines.ask.folded_text import fold
from pipelines.ask.names import NameIndex
from pipelines.ask.parse_error import ParseError
from pipelines.ask.rule_parser import RuleParser
from tests.demo_runs import DemoRun

TODAY = date(2026, 12, 1)
CUSTOMERS = [
    "Blue Ridge Jewelers Co.",
    "Blue Ridge Marina Group",
    "Coastal Medical Supplies Inc.",
    "Café Zürich GmbH",
    "Okafor Café",
    "Amy's Bird Sanctuary",
    "Overdue Ltd",
    "Southern Plumbing Co.",
    "Melton Plumbing",
]
VENDORS = ["Norton Lumber and Building Materials", "Tania's Nursery", "Northwind Supplies", "Staples"]


@pytest.fixture
def parser() -> RuleParser:
    return RuleParser(NameIndex(CUSTOMERS, VENDORS))


def parties(parser: RuleParser, text: str) -> tuple[str | None, str | None]:
    filters = parser.parse(text, TODAY).filters
    return filters.customer_name, filters.vendor_name


@pytest.mark.parametrize(
    ("text", "customer", "vendor"),
    [
        # the start of a name
        ("bills from Norton Lumber", None, "Norton Lumber and Building Materials"),
        ("unpaid bills from norton lumber this month", None, "Norton Lumber and Building Materials"),
        ("bills from Norton", None, "Norton Lumber and Building Materials"),
        # a part of it
        ("bills from Building Materials", None, "Norton Lumber and Building Materials"),
        ("invoices for Marina", "Blue Ridge Marina Group", None),
        # case, accents, punctuation
        ("invoices for cafe zurich", "Café Zürich GmbH", None),
        ("invoices for OKAFOR CAFE", "Okafor Café", None),
        ("invoices for amys bird sanctuary", "Amy's Bird Sanctuary", None),
        ("invoices for Amy’s Bird Sanctuary", "Amy's Bird Sanctuary", None),
        # possessives
        ("Amy's invoices", "Amy's Bird Sanctuary", None),
        ("show Norton's unpaid bills", None, "Norton Lumber and Building Materials"),
        ("Tania's bills", None, "Tania's Nursery"),
        # Inc / LLC / Co. / Ltd, left out or said differently
        ("invoices for Coastal Medical Supplies", "Coastal Medical Supplies Inc.", None),
        ("invoices for Coastal Medical Supplies, Inc", "Coastal Medical Supplies Inc.", None),
        ("invoices for Southern Plumbing Company", "Southern Plumbing Co.", None),
        ("invoices for Blue Ridge Jewelers LLC", "Blue Ridge Jewelers Co.", None),
        # the whole name, as before
        ("invoices for Melton Plumbing", "Melton Plumbing", None),
    ],
)
def test_a_name_as_people_say_it(
    parser: RuleParser, text: str, customer: str | None, vendor: str | None
) -> None:
    assert parties(parser, text) == (customer, vendor)


def test_words_of_the_question_are_not_names(parser: RuleParser) -> None:
    """ "Overdue Ltd" is a customer, "overdue invoices" still all overdue invoices; "may" no name."""
    intent = parser.parse("overdue invoices", TODAY)
    assert intent.filters.customer_name is None and intent.filters.status == "overdue"
    assert parser.parse("invoices for Overdue Ltd", TODAY).filters.customer_name == "Overdue Ltd"
    assert parser.parse("show unpaid invoices from last month", TODAY).filters.customer_name is None


@pytest.mark.parametrize(
    ("text", "typed", "candidates"),
    [
        ("invoices for Blue Ridge", "Blue Ridge", ["Blue Ridge Jewelers Co.", "Blue Ridge Marina Group"]),
        ("invoices for cafe", "cafe", ["Café Zürich GmbH", "Okafor Café"]),
        ("invoices for Plumbing", "Plumbing", ["Melton Plumbing", "Southern Plumbing Co."]),
    ],
)
def test_a_name_several_records_answer_to_is_asked_back(
    parser: RuleParser, text: str, typed: str, candidates: list[str]
) -> None:
    with pytest.raises(ParseError) as caught:
        parser.parse(text, TODAY)
    refusal = caught.value
    assert list(refusal.candidates) == candidates
    assert repr(typed) in refusal.problem and "which one" in refusal.problem
    assert refusal.rephrase == text.replace(typed, f'"{candidates[0]}"')
    assert parser.parse(refusal.rephrase, TODAY).filters.customer_name == candidates[0]  # it answers
    assert refusal.as_json()["candidates"] == candidates


def test_an_unknown_name_gets_the_three_closest(parser: RuleParser) -> None:
    with pytest.raises(ParseError) as caught:
        parser.parse("bills from Northwest Supply", TODAY)
    refusal = caught.value
    assert len(refusal.candidates) == 3
    assert refusal.candidates[0] == "Northwind Supplies"
    assert "did you mean 'Northwind Supplies'" in refusal.problem
    assert refusal.rephrase == 'bills from "Northwind Supplies"'


def test_a_typo_of_a_longer_name_is_that_name_not_its_start() -> None:
    index = NameIndex(["Acme Corp", "Acme Corporation Ltd"], [])
    assert RuleParser(index).parse("invoices for Acme Corpp", TODAY).filters.customer_name == "Acme Corp"
    with pytest.raises(ParseError) as caught:
        RuleParser(index).parse("invoices for Acme", TODAY)
    assert caught.value.candidates == ("Acme Corp", "Acme Corporation Ltd")


def test_names_stay_data() -> None:
    """A name that reads as SQL is found by its words and goes out as the display name, unchanged."""
    odd = "Robert'); DROP TABLE customers;--"
    parser = RuleParser(NameIndex([odd], []))
    assert parser.parse("invoices for Robert", TODAY).filters.customer_name == odd


def test_candidates_are_bounded() -> None:
    many = [f"Plumbing Number {chr(65 + i)}{chr(65 + j)}" for i in range(5) for j in range(5)]
    with pytest.raises(ParseError) as caught:
        RuleParser(NameIndex(many, [])).parse("invoices for Plumbing Number", TODAY)
    assert len(caught.value.candidates) == 10 and "and 15 more" in caught.value.problem


# ------------------------------------------------------------------------------------ on the demo company
def _names(demo_run: DemoRun, table: str) -> list[str]:
    """The names a person may mean: QBO renames a list record it deletes to "Name (deleted)"."""
    rows = demo_run.rows(f"SELECT display_name FROM staging.{table} WHERE NOT is_deleted ORDER BY 1")
    return [r[0] for r in rows if not r[0].endswith("(deleted)")]


def test_deleted_list_records_are_never_offered(demo_run: DemoRun) -> None:
    deleted = [
        r[0]
        for r in demo_run.rows(
            "SELECT display_name FROM staging.stg_qbo__customers WHERE display_name LIKE '%(deleted)'"
        )
    ]
    assert deleted, "the demo company has customers QBO deleted"
    parser = RuleParser(NameIndex.from_warehouse(demo_run.warehouse))
    for name in deleted:
        offered: list[str] = []
        try:
            offered.append(parser.parse(f"invoices for {name}", TODAY).filters.customer_name or "")
        except ParseError as refused:
            offered += refused.candidates
        assert not any(c.endswith("(deleted)") for c in offered), name


def _words(name: str) -> list[str]:
    return [w for w in fold(name).replace("'", "").replace(".", " ").replace(",", " ").split() if w.isalnum()]


def test_the_demo_companys_names_by_their_start(demo_run: DemoRun) -> None:
    """Every vendor of three words or more whose first two words only it has, named by those two words."""
    vendors, customers = _names(demo_run, "stg_qbo__vendors"), _names(demo_run, "stg_qbo__customers")
    parser = RuleParser(NameIndex.from_warehouse(demo_run.warehouse))
    tried = 0
    for vendor in vendors:
        words = _words(vendor)
        head = words[:2]
        others = [n for n in vendors + customers if n != vendor and _words(n)[:2] == head]
        if len(words) < 3 or others or not vendor.split()[0][:1].isupper():
            continue
        said = " ".join(vendor.split()[:2])
        assert parser.parse(f"unpaid bills from {said}", TODAY).filters.vendor_name == vendor, said
        tried += 1
    assert tried >= 2  # "Norton Lumber", "Brosnahan Insurance", ...


def test_the_demo_companys_shared_words_are_asked_back(demo_run: DemoRun) -> None:
    """A word that starts two or more customers' names gets exactly those as candidates."""
    customers = _names(demo_run, "stg_qbo__customers")
    vendors = _names(demo_run, "stg_qbo__vendors")
    firsts: dict[str, list[str]] = {}
    for name in customers:
        words = _words(name)
        if words and words[0].isalpha() and len(words[0]) > 3:
            firsts.setdefault(words[0], []).append(name)
    shared = {w: ns for w, ns in firsts.items() if len(ns) > 1}
    assert shared, "the demo company has customers sharing a first word"
    parser = RuleParser(NameIndex.from_warehouse(demo_run.warehouse))
    for word in shared:
        holding = [n for n in customers + vendors if word in _words(n)]  # a part of any name counts too
        with pytest.raises(ParseError) as caught:
            parser.parse(f"invoices for {word.title()}", TODAY)
        assert sorted(caught.value.candidates) == sorted(holding)[:10], word


def test_qbo_ask_lists_the_candidates_and_exits_2(demo_run: DemoRun, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pipelines.cli.app import app

    customers = _names(demo_run, "stg_qbo__customers")
    blue = sorted(n for n in customers if fold(n).startswith("blue ridge "))
    assert len(blue) >= 2
    env = {
        "SOURCES__QUICKBOOKS__WAREHOUSE": str(demo_run.warehouse),
        "SOURCES__QUICKBOOKS__STORE_URL": f"sqlite:///{tmp_path}/store.sqlite",
    }
    as_json = CliRunner().invoke(app, ["ask", "invoices for Blue Ridge", "--json"], env=env)
    assert as_json.exit_code == 2, as_json.output
    refusal = json.loads(as_json.stdout)
    assert refusal["candidates"] == blue
    assert refusal["rephrase"] == f'invoices for "{blue[0]}"'

    plain = CliRunner().invoke(app, ["ask", "invoices for Blue Ridge"], env=env)
    assert plain.exit_code == 2
    shown = plain.stdout.splitlines()
    assert [line.strip() for line in shown[1 : 1 + len(blue)]] == blue  # one a line, under "candidates:"
    assert any(line.startswith("try:") and blue[0] in line for line in shown)


def test_qbo_mcp_answers_the_candidates_as_json(parser: RuleParser) -> None:
    """An agent asking about "Blue Ridge" gets a tool error naming both, and the choice as JSON."""
    from pipelines.ask.mcp_server import call_tool

    def never(*_: object) -> None:
        raise AssertionError("a question refused is not answered")

    result = call_tool(
        never, lambda q: parser.parse(q, TODAY), "qbo_ask", {"question": "invoices for Blue Ridge"}
    )
    assert result.is_error
    assert "Blue Ridge Marina Group" in result.content[0].text
    choice = json.loads(result.content[1].text)
    assert choice == {
        "candidates": ["Blue Ridge Jewelers Co.", "Blue Ridge Marina Group"],
        "rephrase": 'invoices for "Blue Ridge Jewelers Co."',
    }
