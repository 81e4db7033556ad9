"""The MCP server through the official SDK's client, with a fake answerer: the tools it lists, how a call
is answered, and that refusals and invalid intents come back as tool errors (in memory, in both
protocol eras, and over real stdio). Answers from the demo warehouse: tests/transform/test_ask.py."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters, types
from mcp.types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS

from pipelines.ask.intent import QboIntent, intent_schema
from pipelines.ask.mcp_server import build_server
from pipelines.ask.names import NameIndex
from pipelines.ask.rule_parser import RuleParser
from pipelines.ask.run import Answer
from pipelines.ask.translate import Refused, translate

TODAY = date(2026, 12, 1)
# the initialize handshake (JSON-RPC in memory), and discovery (2026-07-28 on): the versions each negotiates
MODES = {"legacy": HANDSHAKE_PROTOCOL_VERSIONS, "auto": MODERN_PROTOCOL_VERSIONS}


class FakeAnswer:
    """`as_json()` like `pipelines.ask.run.Answer`."""

    def __init__(self, intent: QboIntent, question: str | None) -> None:
        self.intent, self.question = intent, question

    def as_json(self) -> dict[str, Any]:
        return {"intent": self.intent.wire(), "question": self.question}


class FakeAsker:
    """Records what it is asked; refuses a customer it does not know, as `Asker.answer` would."""

    def __init__(self) -> None:
        self.asked: list[tuple[QboIntent, str | None]] = []

    def answer(self, intent: QboIntent, question: str | None) -> FakeAnswer:
        self.asked.append((intent, question))
        if intent.filters.customer_name == "Nobody Inc":
            raise Refused("no customer named 'Nobody Inc'")
        return FakeAnswer(intent, question)


def parse(text: str) -> QboIntent:
    return RuleParser(NameIndex(["Acme Corp"], ["Staples"])).parse(text, TODAY)


def with_client(asker: FakeAsker, mode: str, body: Callable[[Client], Awaitable[None]]) -> None:
    async def run() -> None:
        async with Client(build_server(asker.answer, parse), mode=mode, raise_exceptions=True) as client:
            assert client.protocol_version in MODES[mode]
            await body(client)

    anyio.run(run)


def text_of(result: types.CallToolResult) -> str:
    (content,) = result.content
    assert isinstance(content, types.TextContent)
    return content.text


@pytest.mark.parametrize("mode", list(MODES))
def test_lists_the_tools_with_their_schemas_and_read_only_hints(mode: str) -> None:
    async def body(client: Client) -> None:
        assert client.server_info is not None and client.server_info.name == "qbo-elt"
        assert client.server_capabilities.tools is not None
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert set(tools) == {"qbo_intent", "qbo_ask", "qbo_draft"}
        assert tools["qbo_intent"].input_schema == tools["qbo_draft"].input_schema == intent_schema()
        assert tools["qbo_ask"].input_schema["required"] == ["question"]
        hints = {
            name: (a.read_only_hint, a.destructive_hint, a.idempotent_hint, a.open_world_hint)
            for name, tool in tools.items()
            if (a := tool.annotations) is not None
        }
        assert hints == {  # the reads say so; the draft adds a queued record and changes nothing existing
            "qbo_intent": (True, None, True, False),
            "qbo_ask": (True, None, True, False),
            "qbo_draft": (False, False, False, False),
        }

    with_client(FakeAsker(), mode, body)


@pytest.mark.parametrize("mode", list(MODES))
def test_answers_an_intent_and_a_question(mode: str) -> None:
    asker = FakeAsker()

    async def body(client: Client) -> None:
        counted = await client.call_tool("qbo_intent", {"operation": "LIST_CUSTOMERS", "aggregate": "count"})
        assert not counted.is_error
        assert json.loads(text_of(counted)) == {
            "intent": {
                "operation": "LIST_CUSTOMERS",
                "aggregate": "count",
                "filters": {},
                "pagination": {"page": 1, "pageSize": 100},
            },
            "question": None,
        }
        question = "unpaid invoices for acme corp"
        asked = await client.call_tool("qbo_ask", {"question": question})
        assert not asked.is_error
        assert json.loads(text_of(asked))["question"] == question

    with_client(asker, mode, body)
    (counted, _), (intent, question) = asker.asked
    assert counted == QboIntent(operation="LIST_CUSTOMERS", aggregate="count")
    assert (intent.operation, intent.filters.status, intent.filters.customer_name) == (
        "LIST_INVOICES",
        "unpaid",
        "Acme Corp",
    )
    assert question == "unpaid invoices for acme corp"


@pytest.mark.parametrize("mode", list(MODES))
def test_refusals_and_invalid_intents_are_tool_errors(mode: str) -> None:
    asker = FakeAsker()

    async def body(client: Client) -> None:
        calls: list[tuple[str, dict[str, Any], str]] = [
            ("qbo_intent", {"operation": "DELETE_INVOICE"}, "the intent is not valid: operation"),
            ("qbo_intent", {"operation": "LIST_INVOICES", "sql": "DROP TABLE x"}, "sql: Extra inputs"),
            ("qbo_ask", {"question": "delete invoice 1043"}, "destructive operations"),
            ("qbo_ask", {"question": "tell me a joke"}, "could not tell what to look up"),
            ("qbo_intent", {"operation": "GET_CUSTOMER", "filters": {"customerName": "Nobody Inc"}},
             "no customer named 'Nobody Inc'"),
            ("qbo_intent", {"operation": "GET_CUSTOMER", "filters": {"customer_name": "Acme Corp"}},
             "the intent is not valid: filters.customer_name: Extra inputs are not permitted"),
            ("qbo_intent", {"operation": "LIST_INVOICES", "page": {"size": 10, "start": 1}},
             "the intent is not valid: page: Extra inputs are not permitted"),
            ("qbo_intent", {"operation": "LIST_INVOICES", "pagination": {"pageSize": 1001}},
             "pagination.pageSize: Input should be less than or equal to 1000"),
            ("qbo_delete", {}, "no tool 'qbo_delete'"),
            ("qbo_ask", {"question": "create an invoice for Acme Corp for $500"},
             'CREATE_INVOICE writes: call qbo_draft with {"operation":"CREATE_INVOICE"'),
            ("qbo_intent", {"operation": "CREATE_BILL", "record": {"vendorName": "Acme Corp", "amount": "5"}},
             "CREATE_BILL writes: call qbo_draft"),
            ("qbo_draft", {"operation": "LIST_CUSTOMERS"}, "LIST_CUSTOMERS only reads: call qbo_intent"),
        ]  # fmt: skip
        for name, arguments, says in calls:
            result = await client.call_tool(name, arguments)
            assert result.is_error, (name, arguments)
            assert says in text_of(result), text_of(result)

    with_client(asker, mode, body)
    assert [intent.operation for intent, _ in asker.asked] == ["GET_CUSTOMER"]  # only the valid one


class TranslatingAsker(FakeAsker):
    """Answers with the real `Answer` of what `translate` makes of the intent, without running it."""

    def answer(self, intent: QboIntent, question: str | None) -> Answer:  # type: ignore[override]
        super().answer(intent, question)
        if intent.is_write:
            return Answer(intent, "approval_queue", "123", ["queued", "status"], rows=[[1, "pending"]])
        ids = {("Customer", "acme corp"): "12"}  # QBO's names, in any case, as the warehouse lookup
        t = translate(intent, "123", TODAY, lambda entity, name: ids.get((entity, name.lower())))
        return Answer(intent, "qbo", "123", t.qbo_query, t.sql, t.params, notes=t.notes)


# §11.2's examples, as an orchestrator sends them: the first exactly as printed there
UNPAID_LAST_MONTH_OVER_1000 = {
    "operation": "LIST_INVOICES",
    "filters": {"status": "Open", "dateFrom": "2026-01-01", "dateTo": "2026-01-31", "minAmount": 1000},
}
ACME_PAYMENTS_THIS_QUARTER = {
    "operation": "LIST_PAYMENTS",
    "filters": {"customerName": "ACME Corp", "dateFrom": "2026-01-01", "dateTo": "2026-03-31"},
}


@pytest.mark.parametrize(
    ("intent", "qbo_query", "wire"),
    [
        (  # the spec's query, with its slip corrected: open is Balance > '0', the amount is TotalAmt
            UNPAID_LAST_MONTH_OVER_1000,
            "SELECT * FROM Invoice WHERE Balance > '0' AND TxnDate >= '2026-01-01' "
            "AND TxnDate <= '2026-01-31' AND TotalAmt >= '1000.00' "
            "ORDERBY TxnDate DESC STARTPOSITION 1 MAXRESULTS 100",
            {"status": "open", "dateFrom": "2026-01-01", "dateTo": "2026-01-31", "minAmount": 1000},
        ),
        (  # filtered by CustomerRef and date
            ACME_PAYMENTS_THIS_QUARTER,
            "SELECT * FROM Payment WHERE CustomerRef = '12' AND TxnDate >= '2026-01-01' "
            "AND TxnDate <= '2026-03-31' ORDERBY TxnDate DESC STARTPOSITION 1 MAXRESULTS 100",
            ACME_PAYMENTS_THIS_QUARTER["filters"],
        ),
        (  # ... then aggregated in the service: every page is read and summed
            {**ACME_PAYMENTS_THIS_QUARTER, "aggregate": "sum"},
            "SELECT * FROM Payment WHERE CustomerRef = '12' AND TxnDate >= '2026-01-01' "
            "AND TxnDate <= '2026-03-31' ORDERBY TxnDate DESC STARTPOSITION 1 MAXRESULTS 1000",
            ACME_PAYMENTS_THIS_QUARTER["filters"],
        ),
        (  # the QboIntent of the issue, with its pagination: page 3 of 100 is rows 201 .. 300
            {
                "operation": "LIST_INVOICES",
                "filters": {"customerName": "ACME Corp", "status": "Open", "minAmount": 1000},
                "pagination": {"page": 3, "pageSize": 100},
            },
            "SELECT * FROM Invoice WHERE CustomerRef = '12' AND Balance > '0' AND TotalAmt >= '1000.00' "
            "ORDERBY TxnDate DESC STARTPOSITION 201 MAXRESULTS 100",
            {"customerName": "ACME Corp", "status": "open", "minAmount": 1000},
        ),
    ],
    ids=["unpaid-last-month-over-1000", "acme-payments", "acme-payments-summed", "paginated"],
)
def test_the_specs_intents_sent_to_qbo_intent_become_the_specs_queries(
    intent: dict[str, Any], qbo_query: str, wire: dict[str, Any]
) -> None:
    asker = TranslatingAsker()

    async def body(client: Client) -> None:
        result = await client.call_tool("qbo_intent", json.loads(json.dumps(intent)))
        assert not result.is_error, text_of(result)
        answer = json.loads(text_of(result))
        assert answer["qbo_query"] == qbo_query
        assert answer["intent"]["operation"] == intent["operation"]
        assert answer["intent"]["filters"] == wire  # answered in the spec's names, the status normalised
        assert answer["intent"]["pagination"] == intent.get("pagination", {"page": 1, "pageSize": 100})

    with_client(asker, "legacy", body)
    ((asked, _),) = asker.asked
    assert asked == QboIntent.from_wire(intent)


def test_a_write_refused_by_a_read_tool_names_the_intent_qbo_draft_takes() -> None:
    asker = TranslatingAsker()

    async def body(client: Client) -> None:
        refused = await client.call_tool("qbo_ask", {"question": "create an invoice for Acme Corp for $500"})
        assert refused.is_error
        sent = text_of(refused).split(" with ", 1)[1].removesuffix(" to queue it for approval")
        assert json.loads(sent) == {
            "operation": "CREATE_INVOICE",
            "record": {"customerName": "Acme Corp", "amount": "500"},
        }
        drafted = await client.call_tool("qbo_draft", json.loads(sent))
        assert not drafted.is_error, text_of(drafted)
        assert json.loads(text_of(drafted))["ran_on"] == "approval_queue"

    with_client(asker, "legacy", body)
    assert [intent.operation for intent, _ in asker.asked] == ["CREATE_INVOICE"]


def test_serves_over_stdio(tmp_path: Path) -> None:
    """`serve_stdio` in its own process, as `qbo mcp` runs it: the SDK's stdio client negotiates and calls."""
    script = tmp_path / "serve.py"
    script.write_text(
        textwrap.dedent(
            """
            from pipelines.ask.mcp_server import serve_stdio
            from tests.ask.test_mcp_server import FakeAsker, parse

            serve_stdio(FakeAsker().answer, parse)
            """
        ),
        encoding="utf-8",
    )
    root = Path(__file__).resolve().parents[2]
    server = StdioServerParameters(
        command=sys.executable, args=[str(script)], cwd=str(root), env={"PYTHONPATH": str(root)}
    )

    async def run() -> None:
        async with Client(server, read_timeout_seconds=60) as client:
            tools = {tool.name for tool in (await client.list_tools()).tools}
            assert tools == {"qbo_intent", "qbo_ask", "qbo_draft"}
            asked = await client.call_tool("qbo_ask", {"question": "bills from Staples this month"})
            assert not asked.is_error, text_of(asked)
            assert json.loads(text_of(asked))["intent"]["filters"]["vendorName"] == "Staples"
            refused = await client.call_tool("qbo_intent", {"operation": "DELETE_INVOICE"})
            assert refused.is_error and "operation" in text_of(refused)

    anyio.run(run)
