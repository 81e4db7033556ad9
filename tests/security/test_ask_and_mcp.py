"""Issue 15, items 7 and 8: `qbo mcp` and `qbo ask` never fall over on hostile input.

`qbo mcp` runs in its own process, as an orchestrator starts it, and is sent bad lines one after the
other: each gets its JSON-RPC error naming the field, and a good request after them is still answered.
A server started for one realm refuses another realm's intents, and every refused or failed call is in
the audit log. `qbo ask` refuses absurd amounts in one line naming the amount and the bound, and a
draft never carries an amount outside it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anyio
import duckdb
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from typer.testing import CliRunner

from pipelines.ask.drafts import draft
from pipelines.ask.intent import QboIntent
from pipelines.ask.mcp_server import build_server, call_tool
from pipelines.ask.rule_parser import ParseError
from pipelines.store.integration_store import IntegrationStore
from tests.ask.test_mcp_server import FakeAnswer, FakeAsker, parse

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 12, 1)
REALM = "123"
BOUND = "QBO amounts are from 0 to below 10,000,000,000,000, with at most 2 decimals"


class CrashingAsker(FakeAsker):
    """Fails as a broken warehouse or QBO outage would, for one customer only."""

    def answer(self, intent: QboIntent, question: str | None) -> FakeAnswer:
        if intent.filters.customer_name == "Crash Co":
            raise RuntimeError("the warehouse file is locked")
        return super().answer(intent, question)


def _call(ident: int, name: str, arguments: Any) -> str:
    params = {"name": name, "arguments": arguments}
    return json.dumps({"jsonrpc": "2.0", "id": ident, "method": "tools/call", "params": params})


GOOD = _call(99, "qbo_intent", {"operation": "LIST_CUSTOMERS", "aggregate": "count"})
# (a line as sent, the JSON-RPC error code, the id answered, words the message must hold)
BAD_LINES: list[tuple[str, int, int | None, str]] = [
    ("{not json", -32700, None, "not JSON"),
    ('{"jsonrpc": "2.0", "id": 1, "method": "tools/list"', -32700, None, "not JSON"),
    ("[1, 2]", -32600, None, "one JSON object, not an array"),
    ("[]", -32600, None, "one JSON object"),
    ("42", -32600, None, "one JSON object, not a number"),
    ('"tools/list"', -32600, None, "one JSON object, not a string"),
    ("null", -32600, None, "one JSON object"),
    ('{"id": 2, "method": "tools/list"}', -32600, 2, "jsonrpc"),
    ('{"jsonrpc": "2.0", "id": true, "method": "tools/list"}', -32600, None, "id:"),
    ('{"jsonrpc": "2.0", "id": 1e308, "method": "tools/list"}', -32600, None, "id:"),
    ('{"jsonrpc": "2.0", "id": 3, "method": 7}', -32600, 3, "method:"),
    ('{"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": [1]}', -32602, 4, "params: must be"),
    ('{"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": "x"}', -32602, 5, "params: must be"),
    (_call(6, "qbo_intent", [1, 2]), -32602, 6, "params.arguments: must be an object"),
    (_call(7, "qbo_intent", "LIST_INVOICES"), -32602, 7, "params.arguments: must be an object"),
    ('{"jsonrpc": "2.0", "id": 8, "method": "tools/call", "params": {}}', -32602, 8, "params.name"),
    (
        '{"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "qbo_intent", '
        '"arguments": {"operation": "LIST_INVOICES", "filters": {"minAmount": NaN}}}}',
        -32700,
        None,
        "NaN",
    ),
    ('{"jsonrpc": "2.0", "id": 10, "method": "tools/call", "params": {"name": "x", "arguments": '
     + "[" * 5000 + "]" * 5000 + "}}", -32600, None, "nested deeper than 32"),
    ('{"jsonrpc": "2.0", "id": 11, "method": "tools/list", "params": ' + '{"a": ' * 40 + "1" + "}" * 41,
     -32600, 11, "nested deeper than 32"),
    ('{"jsonrpc": "2.0", "id": 12, "method": "tools/list", "params": {"n": ' + "9" * 5000 + "}}",
     -32700, None, "not JSON"),
    (_call(13, "qbo_intent", {"operation": "LIST_INVOICES", "realmId": "999"}), -32602, 13, "realmId"),
    (_call(14, "qbo_ask", {"question": "unpaid invoices in realm 999"}), -32602, 14, "realmId"),
]  # fmt: skip
# bad arguments are tool errors (`isError`), the field named, as the calling model reads them
BAD_ARGUMENTS: list[tuple[str, dict[str, Any], str]] = [
    ("qbo_intent", {"operation": "LIST_INVOICES", "pagination": {"page": 1e308}}, "pagination.page"),
    ("qbo_intent", {"operation": "LIST_INVOICES", "pagination": {"page": 10**400}}, "pagination.page"),
    ("qbo_intent", {"operation": "LIST_INVOICES", "pagination": {"pageSize": -1}}, "pagination.pageSize"),
    ("qbo_intent", {"operation": "LIST_INVOICES", "filters": {"minAmount": 1e308}}, "filters.minAmount"),
    ("qbo_intent", {"operation": "LIST_INVOICES", "filters": {"maxAmount": -1}}, "filters.maxAmount"),
    ("qbo_intent", {"operation": "LIST_BILLS", "filters": {"vendorName": "A" * 100_000}}, "vendorName"),
    ("qbo_draft", {"operation": "CREATE_BILL", "record": {"vendorName": "Staples", "memo": "x" * 5000}},
     "record: Value error, memo: is over 4,000 characters"),
    ("qbo_draft", {"operation": "CREATE_BILL", "record": {"vendorName": {"nested": [1]}}}, "vendorName"),
    ("qbo_ask", {"question": "q" * 200_000}, "over 1,000 characters"),
    ("qbo_ask", {"question": 12}, "question: must be a text"),
    ("qbo_ask", {"question": "invoices over $99999999999999999999999999999"}, "is too large"),
    ("qbo_nope", {}, "no tool 'qbo_nope'"),
    ("qbo_intent", {"operation": "GET_CUSTOMER", "filters": {"customerName": "Crash Co"}},
     "the call failed (RuntimeError: the warehouse file is locked)"),
]  # fmt: skip


class StdioServer:
    """`serve_stdio` in its own process for realm 123, auditing to a SQLite store; one line, one reply."""

    def __init__(self, tmp_path: Path) -> None:
        self.store_url = f"sqlite:///{tmp_path / 'store.sqlite'}"
        script = tmp_path / "serve.py"
        script.write_text(
            textwrap.dedent(
                f"""
                from functools import partial

                from pipelines.ask.mcp_server import serve_stdio
                from pipelines.store.integration_store import IntegrationStore
                from tests.ask.test_mcp_server import parse
                from tests.security.test_ask_and_mcp import CrashingAsker

                store = IntegrationStore({self.store_url!r})
                audit = partial(store.intents.audit, caller="mcp")
                serve_stdio(CrashingAsker().answer, parse, realm={REALM!r}, audit=audit)
                """
            ),
            encoding="utf-8",
        )
        self.process = subprocess.Popen(
            [sys.executable, str(script)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=ROOT,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        )
        self.watchdog = threading.Timer(300, self.process.kill)  # a hung server fails the test, not the run
        self.watchdog.start()
        initialize = {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "test", "version": "1"},
        }
        assert "result" in self.send(
            json.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": initialize})
        )
        self.write(b'{"jsonrpc": "2.0", "method": "notifications/initialized"}\n')

    def write(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def send(self, line: str | bytes) -> dict[str, Any]:
        self.write((line.encode("utf-8") if isinstance(line, str) else line) + b"\n")
        assert self.process.stdout is not None
        reply = self.process.stdout.readline()
        assert reply, "the server exited"
        return json.loads(reply)

    def close(self) -> int:
        assert self.process.stdin is not None
        self.process.stdin.close()
        code = self.process.wait(timeout=60)
        self.watchdog.cancel()
        return code

    def audited(self) -> list[tuple[str, str, str | None, str]]:
        with IntegrationStore(self.store_url).engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT ran_on, caller, realm_id, note FROM qbo_intent_audit ORDER BY id"
            )
            return [tuple(row) for row in rows]


@pytest.fixture
def stdio_server(tmp_path: Path) -> Any:
    server = StdioServer(tmp_path)
    yield server
    if server.process.poll() is None:
        server.process.kill()
    server.watchdog.cancel()


def test_every_malformed_line_gets_its_json_rpc_error_and_the_server_answers_the_next(
    stdio_server: StdioServer,
) -> None:
    for line, code, ident, says in BAD_LINES:
        reply = stdio_server.send(line)
        assert reply.get("error", {}).get("code") == code, (line[:80], reply)
        assert reply["id"] == ident and says in reply["error"]["message"], (line[:80], reply)
        good = stdio_server.send(GOOD)  # still serving, and still only realm 123
        assert good["id"] == 99 and good["result"]["isError"] is False, good
        assert json.loads(good["result"]["content"][0]["text"])["intent"]["realmId"] == REALM

    assert stdio_server.close() == 0  # it ends when the client closes stdin, not before


def test_a_line_over_one_mib_is_refused_unread_and_the_next_is_answered(stdio_server: StdioServer) -> None:
    huge = _call(1, "qbo_ask", {"question": "x" * (2 << 20)})
    reply = stdio_server.send(huge)
    assert (reply["id"], reply["error"]["code"]) == (None, -32600)
    assert "over the 1,048,576 a request may have" in reply["error"]["message"]
    endless = b"[" * (3 << 20)  # not even JSON: it is never parsed
    assert "over the 1,048,576" in stdio_server.send(endless)["error"]["message"]
    assert stdio_server.send(GOOD)["result"]["isError"] is False
    assert stdio_server.close() == 0


def test_bad_arguments_are_tool_errors_naming_the_field_and_every_refusal_is_audited(
    stdio_server: StdioServer,
) -> None:
    for ident, (tool, arguments, says) in enumerate(BAD_ARGUMENTS, start=1):
        reply = stdio_server.send(_call(ident, tool, arguments))
        assert reply["id"] == ident and reply["result"]["isError"] is True, (tool, reply)
        assert says in reply["result"]["content"][0]["text"], reply
        assert stdio_server.send(GOOD)["result"]["isError"] is False
    other_realm = stdio_server.send(_call(500, "qbo_intent", {"operation": "LIST_BILLS", "realmId": "999"}))
    assert other_realm["error"]["code"] == -32602
    assert stdio_server.send("{oops")["error"]["code"] == -32700
    assert stdio_server.close() == 0

    audited = stdio_server.audited()
    assert all(caller == "mcp" and realm == REALM for _, caller, realm, _ in audited)
    refused = [note for ran_on, _, _, note in audited if ran_on == "refused"]
    failed = [note for ran_on, _, _, note in audited if ran_on == "failed"]
    assert len(refused) == len(BAD_ARGUMENTS) - 1 + 2  # every refusal, the other realm and the bad line
    assert any("pagination.page" in note for note in refused)
    assert any(note.startswith("realmId: this server answers only about realm 123") for note in refused)
    assert any(note.startswith("not JSON") for note in refused)
    assert failed == ["the call failed (RuntimeError: the warehouse file is locked); it is audited"]


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_a_server_for_one_realm_answers_only_about_it(mode: str) -> None:
    asker, audited = FakeAsker(), []
    server = build_server(asker.answer, parse, realm=REALM, audit=lambda **row: audited.append(row))

    async def run() -> None:
        async with Client(server, mode=mode, raise_exceptions=True) as client:
            for arguments in (
                {"operation": "LIST_INVOICES", "realmId": "999"},
                {
                    "operation": "CREATE_BILL",
                    "realmId": "1",
                    "record": {"vendorName": "Staples", "amount": "5"},
                },
            ):
                tool = "qbo_draft" if arguments["operation"].startswith("CREATE") else "qbo_intent"
                with pytest.raises(MCPError, match="realmId: this server answers only about realm 123"):
                    await client.call_tool(tool, arguments)
            with pytest.raises(MCPError, match="realmId"):
                await client.call_tool("qbo_ask", {"question": "bills from Staples in realm 999"})
            same = await client.call_tool("qbo_intent", {"operation": "LIST_INVOICES", "realmId": REALM})
            unsaid = await client.call_tool("qbo_ask", {"question": "bills from Staples"})
            assert not same.is_error and not unsaid.is_error

    anyio.run(run)
    assert [intent.realm_id for intent, _ in asker.asked] == [REALM, REALM]  # never 999 or 1
    assert [(row["ran_on"], row["realm_id"]) for row in audited] == [("refused", REALM)] * 3


def test_call_tool_audits_a_refusal_before_the_answering_side_and_not_what_it_audits_itself() -> None:
    audited: list[dict[str, Any]] = []
    asker = FakeAsker()
    refused = call_tool(
        asker.answer,
        parse,
        "qbo_ask",
        {"question": "delete invoice 1043"},
        audit=lambda **r: audited.append(r),
    )
    assert refused.is_error and audited[0]["question"] == "delete invoice 1043"
    assert audited[0]["ran_on"] == "refused" and "destructive" in audited[0]["note"]
    nobody = {"operation": "GET_CUSTOMER", "filters": {"customerName": "Nobody Inc"}}
    assert call_tool(asker.answer, parse, "qbo_intent", nobody, audit=lambda **r: audited.append(r)).is_error
    assert len(audited) == 1  # `Asker.answer` audits its own refusals


ABSURD = [
    ("unpaid invoices over $99999999999999999999999999999", "'$99999999999999999999999999999' is too large"),
    ("unpaid invoices over $-5", "'$-5' is negative"),
    ("unpaid invoices over 1e308", "'1e308' is written with an exponent"),
    ("unpaid invoices over $1e-30", "'$1e-30' is written with an exponent"),
    ("unpaid invoices over NaN", "'NaN' is not a number"),
    ("unpaid invoices over $inf", "'$inf' is not a number"),
    ("invoices between $5 and $10,000,000,000,000", "'$10,000,000,000,000' is too large"),
    ("invoices over $12.345", "'$12.345' has more than 2 decimals"),
    ("invoices over 999999999999999999999999999999 million", "is too large"),
    ("create an invoice for Acme Corp for $99999999999999999999999999999", "is too large"),
    ("create an invoice for Acme Corp for $-5", "'$-5' is negative"),
    ("create an invoice for Acme Corp -5", "'-5' is negative"),
    ("create a bill from Staples for -$5", "'-$5' is negative"),
    ("create an invoice for Acme Corp for $1e-30", "'$1e-30' is written with an exponent"),
    ("create an invoice for Acme Corp for NaN dollars", "is not a number"),
    ("create an invoice for Acme Corp for 10000000000000000000", "is too large"),
    ("create an invoice for Acme Corp for $0.001", "has more than 2 decimals"),
]


@pytest.mark.parametrize(("question", "says"), ABSURD, ids=[q for q, _ in ABSURD])
def test_qbo_ask_refuses_an_absurd_amount_naming_it_and_the_bound(question: str, says: str) -> None:
    with pytest.raises(ParseError) as refused:
        parse(question)
    assert says in str(refused.value) and BOUND in str(refused.value)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    ("question", "record"),
    [
        ("create an invoice for Acme Corp for $9,999,999,999,999.99", {"amount": "9999999999999.99"}),
        ("create an invoice for Acme Corp for $0.01", {"amount": "0.01"}),
        ("create a bill from Staples for 120.50", {"vendorName": "Staples", "amount": "120.50"}),
    ],
)  # fmt: skip
def test_amounts_within_the_bound_are_kept_exactly(question: str, record: dict[str, str]) -> None:
    expected = record if "vendorName" in record else {"customerName": "Acme Corp", **record}
    assert parse(question).record == expected


@pytest.mark.parametrize(
    ("amount", "issue"),
    [("-5", "out_of_range"), ("1e308", "out_of_range"), ("NaN", "not_a_number"), ("Infinity", "not_a_number"),
     ("99999999999999999999999999999", "out_of_range"), ("1e-30", "out_of_range"), ("5.555", "out_of_range"),
     ("0", "out_of_range"), (True, "not_a_number"), ("five", "not_a_number"), (10**5000, "not_a_number")],
    ids=lambda value: "10**5000" if type(value) is int else repr(value)[:30],
)  # fmt: skip
def test_a_draft_never_carries_an_amount_out_of_bounds(amount: Any, issue: str) -> None:
    """Drafted as an MCP client may send it: queued incomplete, the amount named and not kept."""
    intent = QboIntent(operation="CREATE_INVOICE", record={"customerName": "Acme Corp", "amount": amount})
    dto, error = draft(SimpleNamespace(), intent, REALM, TODAY)  # type: ignore[arg-type]
    assert error is not None and error["code"] == "DRAFT_INCOMPLETE"
    (problem,) = error["details"]
    assert (problem["field"], problem["issue"]) == ("amount", issue)
    assert "totalAmount" not in dto and "lines" not in dto


def _warehouse(path: Path) -> None:
    with duckdb.connect(str(path)) as db:
        db.execute("CREATE SCHEMA staging")
        for table in ("stg_qbo__customers", "stg_qbo__vendors"):
            db.execute(f"CREATE TABLE staging.{table} (realm_id TEXT, display_name TEXT, is_deleted BOOLEAN)")
        db.execute("INSERT INTO staging.stg_qbo__customers VALUES ('123', 'Acme Corp', false)")


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["unpaid invoices over $-5", "--realm", REALM], "'$-5' is negative: " + BOUND),
        (["unpaid invoices over $99999999999999999999999999999", "--realm", REALM], "is too large: " + BOUND),
        (["create an invoice for Acme Corp for $1e-30", "--realm", REALM], "written with an exponent"),
        (["unpaid invoices over NaN", "--realm", REALM], "'NaN' is not a number"),
        (["unpaid invoices in realm 999", "--realm", REALM], "realm: the question asks about realm 999"),
    ],
)
def test_the_qbo_ask_command_refuses_in_one_line_and_audits_it(
    tmp_path: Path, arguments: list[str], says: str
) -> None:
    from pipelines.cli.app import app

    _warehouse(tmp_path / "warehouse.duckdb")
    store_url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    env = {
        "SOURCES__QUICKBOOKS__WAREHOUSE": str(tmp_path / "warehouse.duckdb"),
        "SOURCES__QUICKBOOKS__STORE_URL": store_url,
    }
    result = CliRunner().invoke(app, ["ask", *arguments], env=env)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    (line,) = [x for x in result.stderr.strip().splitlines() if not x.startswith("warehouse: ")]
    assert line.startswith("error: ") and says in line
    with IntegrationStore(store_url).engine.connect() as conn:
        audited = conn.exec_driver_sql(
            "SELECT ran_on, caller, question, note FROM qbo_intent_audit"
        ).fetchall()
    assert [(ran_on, caller, question) for ran_on, caller, question, _ in audited] == [
        ("refused", "cli", arguments[0])
    ]


def test_the_qbo_ask_command_refuses_a_realm_that_is_not_an_id(tmp_path: Path) -> None:
    from pipelines.cli.app import app

    _warehouse(tmp_path / "warehouse.duckdb")
    env = {
        "SOURCES__QUICKBOOKS__WAREHOUSE": str(tmp_path / "warehouse.duckdb"),
        "SOURCES__QUICKBOOKS__STORE_URL": f"sqlite:///{tmp_path / 's.sqlite'}",
    }
    result = CliRunner().invoke(app, ["ask", "how many customers", "--realm", "1 OR 1=1"], env=env)
    assert result.exit_code == 2 and "is not a QBO realm id" in result.output
