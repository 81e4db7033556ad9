"""The query grammar of QBO_API.md §1: what parses, into what, and which fault the rest gets."""

from __future__ import annotations

import pytest

from sandbox import faults
from sandbox.query import Condition, Literal, Order, parse
from sources.quickbooks.query_text import quote


def test_full_incremental_query_parses_with_every_clause() -> None:
    q = parse(
        "select * from Invoice where Metadata.LastUpdatedTime >= '2024-01-01T00:00:00-08:00' "
        "AND CustomerRef IN ('1', '2') ORDER BY MetaData.LastUpdatedTime DESC, Id "
        "MAXRESULTS 1000 STARTPOSITION 1001"
    )
    assert q.entity == "Invoice"
    assert q.count is False
    assert q.where == (
        Condition("MetaData.LastUpdatedTime", ">=", (Literal("str", "2024-01-01T00:00:00-08:00"),)),
        Condition("CustomerRef", "IN", (Literal("str", "1"), Literal("str", "2"))),
    )
    assert q.order == (Order("MetaData.LastUpdatedTime", descending=True), Order("Id"))
    assert (q.start_position, q.max_results) == (1001, 1000)


def test_count_orderby_one_word_and_defaults() -> None:
    q = parse("SELECT COUNT(*) FROM Customer WHERE Active = true ORDERBY DisplayName")
    assert q.count and q.order == (Order("DisplayName"),)
    assert q.where[0].values == (Literal("bool", True),)
    assert (q.start_position, q.max_results) == (1, 100)


def test_backslash_escaped_quote_is_part_of_the_value() -> None:
    q = parse(r"SELECT * FROM Customer WHERE DisplayName = 'Amy\'s Bird Sanctuary'")
    assert q.where[0].values[0].value == "Amy's Bird Sanctuary"


def test_maxresults_above_1000_is_capped_numbers_and_like_parse() -> None:
    q = parse("SELECT * FROM Invoice WHERE TotalAmt > 300.5 AND DocNumber LIKE '10%' MAXRESULTS 5000")
    assert q.max_results == 1000
    assert q.where[0].values == (Literal("num", 300.5),)
    assert q.where[1].op == "LIKE"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("SELECT * FROM Custmoer", "4001"),  # unknown entity (the real sample's typo)
        ("SELECT * FROM customer", "4001"),  # entity names are case-sensitive
        ("SELECT * FROM Customer MAXRESULTS 0", "4001"),
        ("SELECT * FROM Customer WHERE", "4000"),
        ("SELECT * FROM Customer WHERE Id = null", "4000"),
        ("SELECT Id FROM Customer", "4000"),  # projections are not supported
        ("SELECT * FROM Customer WHERE Id != '1'", "4000"),
        ("SELECT * FROM Customer WHERE DisplayName = 'x' OR Id = '1'", "4000"),  # no OR
        ("SELECT * FROM Customer WHERE DisplayName = 'unterminated", "4000"),
        ("DELETE FROM Customer", "4000"),
    ],
)
def test_bad_queries_get_the_documented_fault(text: str, code: str) -> None:
    with pytest.raises(faults.QboFault) as caught:
        parse(text)
    assert caught.value.code == code
    assert caught.value.status == 400


@pytest.mark.parametrize("name", ["Amy's Bird Sanctuary", "back\\slash", "it's 'quoted' \\' twice", "plain"])
def test_the_connectors_quoting_reads_back_as_the_same_value(name: str) -> None:
    q = parse(f"SELECT * FROM Customer WHERE DisplayName = {quote(name)}")
    assert q.where[0].values[0].value == name
