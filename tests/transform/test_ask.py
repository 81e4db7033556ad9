"""Questions in words, answered from the demo warehouse: the seed's two examples give the right intents,
queries and answers (checked against SQL written here, independently), writes only reach the approval
queue, and every call is in the audit log."""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters, types
from mcp.types.version import HANDSHAKE_PROTOCOL_VERSIONS

from pipelines.ask.intent import QboIntent
from pipelines.ask.mcp_server import build_server
from pipelines.ask.names import NameIndex
from pipelines.ask.rule_parser import RuleParser
from pipelines.ask.run import Asker
from pipelines.runtime.connector import Connector
from pipelines.runtime.settings import Settings
from pipelines.transform.publish import publish
from tests.demo_runs import DemoRun

TODAY = datetime.now(UTC).date()


def last_month(today: date) -> tuple[date, date]:
    end = today.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


@pytest.fixture
def asker(demo_run: DemoRun, tmp_path: Path) -> Asker:
    settings = Settings(
        warehouse=demo_run.warehouse, store_url=f"sqlite:///{demo_run.workdir / 'integration.sqlite'}"
    )
    return Asker(Connector(settings), caller="test", fresh=timedelta(days=1))


@pytest.fixture
def parser(demo_run: DemoRun) -> RuleParser:
    return RuleParser(NameIndex.from_warehouse(demo_run.warehouse))


def test_unpaid_invoices_from_last_month_over_1000_dollars(
    demo_run: DemoRun, asker: Asker, parser: RuleParser
) -> None:
    question = "Show me all unpaid invoices from last month over 1000 dollars"
    intent = parser.parse(question, TODAY)
    start, end = last_month(TODAY)
    assert (intent.operation, intent.filters.status) == ("LIST_INVOICES", "unpaid")
    assert (intent.filters.date_from, intent.filters.date_to, intent.filters.min_amount) == (start, end, 1000)

    answer = asker.answer(intent, question)

    assert answer.ran_on == "warehouse"
    assert "Balance > '0'" in answer.qbo_query and "TotalAmt >= '1000.00'" in answer.qbo_query
    expected = demo_run.rows(
        "SELECT qbo_id FROM staging.stg_qbo__invoices WHERE NOT is_deleted AND balance > 0 "
        "AND total_amount >= 1000 AND txn_date BETWEEN ? AND ? ORDER BY txn_date DESC, qbo_id",
        start,
        end,
    )
    assert expected, "the demo company has such invoices"
    assert [row[0] for row in answer.rows] == [e[0] for e in expected][: intent.pagination.page_size]


def test_how_much_did_a_customer_pay_this_quarter(
    demo_run: DemoRun, asker: Asker, parser: RuleParser
) -> None:
    quarter_start = date(TODAY.year, 3 * ((TODAY.month - 1) // 3) + 1, 1)
    name, paid = demo_run.rows(
        "SELECT c.display_name, sum(p.total_amount) FROM staging.stg_qbo__payments p "
        "JOIN staging.stg_qbo__customers c ON c.realm_id = p.realm_id AND c.qbo_id = p.customer "
        "WHERE NOT p.is_deleted AND p.txn_date >= ? AND p.txn_date <= ? "
        "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1",
        quarter_start,
        TODAY,
    )[0]
    question = f"How much did {name} pay us this quarter?"
    intent = parser.parse(question, TODAY)
    assert (intent.operation, intent.aggregate, intent.filters.customer_name) == (
        "LIST_PAYMENTS",
        "sum",
        name,
    )

    answer = asker.answer(intent, question)

    assert answer.columns == ["count", "total"]
    assert answer.rows[0][1] == paid
    assert "CustomerRef = '" in answer.qbo_query


def test_a_create_invoice_intent_is_drafted_checked_and_queued_and_every_call_is_audited(
    demo_run: DemoRun, asker: Asker, parser: RuleParser
) -> None:
    store = asker.connector.store
    publish(demo_run.warehouse, store)  # what `qbo transform` publishes: links to platform records
    customer, item = demo_run.rows(
        "SELECT c.display_name, i.name FROM sync.sync_mappings mc "
        "JOIN staging.stg_qbo__customers c ON c.realm_id = mc.realm_id AND c.qbo_id = mc.qbo_id "
        "CROSS JOIN (SELECT q.name FROM sync.sync_mappings mi JOIN staging.stg_qbo__items q "
        "  ON q.realm_id = mi.realm_id AND q.qbo_id = mi.qbo_id "
        "  WHERE mi.entity = 'Item' AND mi.status = 'linked' AND q.active ORDER BY q.name LIMIT 1) i "
        "WHERE mc.entity = 'Customer' AND mc.status = 'linked' ORDER BY c.display_name LIMIT 1"
    )[0]
    question = f'create an invoice for "{customer}" for $500 for {item}'
    intent = parser.parse(question, TODAY)
    assert intent.operation == "CREATE_INVOICE"

    answer = asker.answer(intent, question)

    assert answer.ran_on == "approval_queue" and answer.rows[0][1] == "pending", answer.notes
    refused = asker.answer(
        QboIntent(operation="CREATE_INVOICE", record={"customerName": customer, "amount": "-5"})
    )
    assert refused.rows[0][1] == "incomplete" and "amount" in refused.notes[0]
    with store.engine.connect() as conn:
        queued = conn.exec_driver_sql(
            "SELECT entity, status, caller, record FROM qbo_intent_writes ORDER BY id"
        )
        (entity, status, caller, record), _ = queued.fetchall()[-2:]
        audit = conn.exec_driver_sql(
            "SELECT ran_on, caller, question FROM qbo_intent_audit ORDER BY id"
        ).fetchall()
    assert (entity, status, caller) == ("Invoice", "pending", "test")
    assert json.loads(record)["totalAmount"] == "500.00"
    assert audit[-2] == ("approval_queue", "test", question)


def test_the_mcp_server_lists_its_tools_and_answers_an_intent(asker: Asker, parser: RuleParser) -> None:
    """Through the SDK's client, JSON-RPC in memory with the initialize handshake, as over stdio."""
    server = build_server(asker.answer, lambda text: parser.parse(text, TODAY))
    count = {"operation": "LIST_CUSTOMERS", "aggregate": "count"}

    async def session() -> tuple[str, set[str], types.CallToolResult, types.CallToolResult]:
        async with Client(server, mode="legacy", raise_exceptions=True) as client:
            tools = {tool.name for tool in (await client.list_tools()).tools}
            counted = await client.call_tool("qbo_intent", count)
            refused = await client.call_tool("qbo_intent", {"operation": "DELETE_INVOICE"})
            return client.protocol_version, tools, counted, refused

    protocol, tools, counted, refused = anyio.run(session)
    assert protocol in HANDSHAKE_PROTOCOL_VERSIONS  # negotiated by the SDK
    assert tools == {"qbo_intent", "qbo_ask", "qbo_draft"}
    assert not counted.is_error
    (text,) = counted.content
    assert isinstance(text, types.TextContent)
    answer = json.loads(text.text)
    assert answer["ran_on"] == "warehouse" and answer["rows"][0][0] > 0
    (text,) = refused.content
    assert refused.is_error and isinstance(text, types.TextContent) and "operation" in text.text


def test_qbo_ask_shows_and_audits_the_intent_in_the_specs_names(demo_run: DemoRun) -> None:
    """`qbo ask` (and `--json`) print the intent as the spec's QboIntent, and the audit log keeps it so."""
    from typer.testing import CliRunner

    from pipelines.cli.app import app

    env = {
        "SOURCES__QUICKBOOKS__WAREHOUSE": str(demo_run.warehouse),
        "SOURCES__QUICKBOOKS__STORE_URL": f"sqlite:///{demo_run.workdir / 'integration.sqlite'}",
    }
    question = "Show me all unpaid invoices from last month over 1000 dollars"
    start, end = last_month(TODAY)
    wire = {
        "operation": "LIST_INVOICES",
        "filters": {"status": "unpaid", "dateFrom": str(start), "dateTo": str(end), "minAmount": 1000},
        "pagination": {"page": 1, "pageSize": 100},
    }

    shown = CliRunner().invoke(app, ["ask", question, "--json"], env=env)
    assert shown.exit_code == 0, shown.output
    answer = json.loads(shown.stdout)
    assert answer["intent"] == wire and answer["ran_on"] == "warehouse"
    assert QboIntent.from_wire(answer["intent"]).filters.min_amount == 1000  # it can be sent back as it is
    settings = Settings(warehouse=demo_run.warehouse, store_url=env["SOURCES__QUICKBOOKS__STORE_URL"])
    with Connector(settings).store.engine.connect() as conn:
        last = "SELECT intent FROM qbo_intent_audit ORDER BY id DESC LIMIT 1"
        (audited,) = conn.exec_driver_sql(last).one()
    assert (json.loads(audited) if isinstance(audited, str) else audited) == wire

    plain = CliRunner().invoke(app, ["ask", question], env=env)
    assert plain.exit_code == 0, plain.output
    filters = json.dumps(wire["filters"], separators=(",", ":"))
    assert f'intent:   {{"operation":"LIST_INVOICES","filters":{filters}}}' in plain.stdout


def test_qbo_mcp_serves_the_warehouse_over_stdio(demo_run: DemoRun) -> None:
    """`qbo mcp` as an orchestrator runs it: its own process, the SDK's stdio client, the CLI's wiring."""
    settings = {  # as an orchestrator's MCP config would set them (the environment, not CLI options)
        "SOURCES__QUICKBOOKS__WAREHOUSE": str(demo_run.warehouse),
        "SOURCES__QUICKBOOKS__STORE_URL": f"sqlite:///{demo_run.workdir / 'integration.sqlite'}",
    }
    root = Path(__file__).resolve().parents[2]
    server = StdioServerParameters(
        command=sys.executable, args=["-m", "pipelines.cli", "mcp"], cwd=str(root), env=settings
    )

    async def session() -> tuple[set[str], types.CallToolResult, types.CallToolResult]:
        async with Client(server, read_timeout_seconds=120) as client:
            tools = {tool.name for tool in (await client.list_tools()).tools}
            asked = await client.call_tool("qbo_ask", {"question": "how many customers"})
            refused = await client.call_tool("qbo_ask", {"question": "delete invoice 1043"})
            return tools, asked, refused

    tools, asked, refused = anyio.run(session)
    assert tools == {"qbo_intent", "qbo_ask", "qbo_draft"}
    assert not asked.is_error
    (text,) = asked.content
    assert isinstance(text, types.TextContent)
    answer = json.loads(text.text)
    assert (answer["intent"]["operation"], answer["ran_on"]) == ("LIST_CUSTOMERS", "warehouse")
    assert answer["rows"][0][0] > 0
    (text,) = refused.content
    assert refused.is_error and isinstance(text, types.TextContent) and "destructive" in text.text


def readme_questions() -> list[str]:
    """Every `qbo ask "..."` the README shows."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    return re.findall(r'^uv run qbo ask "([^"]+)"', readme, flags=re.MULTILINE)


def test_every_readme_question_answers_on_the_demo_data(demo_run: DemoRun) -> None:
    """The README's examples are the demo's: each answers from the demo warehouse (or, a draft, is queued),
    as `make demo` leaves it, with the two settings the README exports."""
    from typer.testing import CliRunner

    from pipelines.cli.app import app

    env = {
        "SOURCES__QUICKBOOKS__WAREHOUSE": str(demo_run.warehouse),
        "SOURCES__QUICKBOOKS__STORE_URL": f"sqlite:///{demo_run.workdir / 'integration.sqlite'}",
    }
    questions = readme_questions()
    assert len(questions) >= 8
    for question in questions:
        shown = CliRunner().invoke(app, ["ask", question, "--json"], env=env)
        assert shown.exit_code == 0, (question, shown.output)
        answer = json.loads(shown.stdout)
        if answer["intent"]["operation"].startswith("CREATE_"):
            assert answer["ran_on"] == "approval_queue", question
            continue
        assert answer["ran_on"] == "warehouse" and answer["rows"], (question, answer)
