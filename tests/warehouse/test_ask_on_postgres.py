"""`qbo ask` and `qbo mcp` on a PostgreSQL warehouse: the same questions, asked of the same demo company
built once in a DuckDB file and once in PostgreSQL, get the same answers (the intent, the QBO query, the
rows and totals as a user reads them); names typed without their accents or case are found on both; a
draft is the same DTO; the CLI and the MCP server answer from PostgreSQL, and refuse one that is empty
or down with one line."""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters, types
from typer.testing import CliRunner

from pipelines.ask.drafts import draft
from pipelines.ask.intent import QboIntent
from pipelines.ask.names import NameIndex
from pipelines.ask.rule_parser import RuleParser
from pipelines.ask.run import Asker
from pipelines.cli.app import app
from tests.demo_runs import DemoRun, pg_database

TODAY = datetime.now(UTC).date()
ROOT = Path(__file__).resolve().parents[2]

# tests/ask/corpus.yaml's kinds of question, with the demo company's names (accents, '&', lower case)
QUESTIONS = [
    "Show me all unpaid invoices from last month over 1000 dollars",
    "How much did cafe zurich gmbh pay us this quarter?",
    "which invoices are overdue?",
    "How many overdue invoices do we have?",
    "sum of unpaid invoices",
    "total of invoices year to date",
    "how many customers do we have",
    "list customers",
    "which customers owe us money?",
    "show me the details for Diego Pena",
    "invoices for muller and sohne kg",
    "invoices for Okafor Cafe",
    "unpaid bills",
    "how much do we owe Robertson & Associates",
    "payments received this month",
    "invoices between 500 and 2k",
    "invoices in 2025",
    "page 2 of invoices in 2025",
    "show void invoices from this year",
    "invoices from the last 30 days",
]
# what the rule parser does not say, as an MCP client sends it: a name part, in another case and accents
INTENTS = [
    {"operation": "LIST_CUSTOMERS", "filters": {"customerName": "MULLER"}},
    {"operation": "GET_CUSTOMER", "filters": {"customerName": "CAFÉ ZURICH GMBH"}},
    {"operation": "LIST_CUSTOMERS", "filters": {"customerName": "50%_"}},  # wildcards are only text
]


def _answers(run: DemoRun) -> list[dict[str, Any]]:
    """Every question and intent, answered from `run`'s warehouse, as `qbo ask --json` prints it (the SQL
    aside: it is written for the engine)."""
    parser = RuleParser(NameIndex.from_warehouse(run.warehouse))
    asker = Asker(run.connector, caller="test", fresh=timedelta(days=1))
    intents = [(parser.parse(q, TODAY), q) for q in QUESTIONS]
    intents += [(QboIntent.from_wire(wire), None) for wire in INTENTS]
    shown = []
    for intent, question in intents:
        answer = asker.answer(intent, question, today=TODAY).as_json()
        assert answer.pop("warehouse_sql")
        shown.append(answer)
    return shown


def test_questions_get_the_same_answers_on_postgresql_as_on_duckdb(
    demo_run: DemoRun, pg_demo_run: DemoRun
) -> None:
    on_duckdb, on_postgres = _answers(demo_run), _answers(pg_demo_run)

    assert {a["ran_on"] for a in on_postgres} == {"warehouse"}
    for asked, duck, pg in zip(QUESTIONS + INTENTS, on_duckdb, on_postgres, strict=True):
        assert pg == duck, asked
    by_question = dict(zip(QUESTIONS, on_postgres, strict=False))
    assert sum(1 for a in on_postgres if a["rows"]) >= len(on_postgres) - 3, "the answers say something"
    # names typed without accents, case or '&' find the customer as QBO spells it
    (details,) = by_question["show me the details for Diego Pena"]["rows"]
    assert details[1] == "Diego Peña"
    assert by_question["invoices for muller and sohne kg"]["intent"]["filters"]["customerName"] == (
        "Müller & Söhne KG"
    )
    assert by_question["invoices for muller and sohne kg"]["rows"]
    listed, found, wildcards = on_postgres[len(QUESTIONS) :]
    assert {row[1] for row in listed["rows"]} >= {"Müller & Söhne KG", "Müller Kitchen Supply"}
    assert [row[1] for row in found["rows"]] == ["Café Zürich GmbH"]
    assert wildcards["rows"] == []
    # a list comes in one order on both: names byte by byte, whatever PostgreSQL's collation
    names = [row[1] for row in by_question["list customers"]["rows"]]
    assert names == sorted(names, key=lambda n: n.encode())
    # totals are money on both engines, also a sum of nothing
    totals = [a["rows"][0][1] for a in on_postgres if a["columns"] == ["count", "total"]]
    assert len(totals) >= 4 and all(re.fullmatch(r"\d+\.\d\d", total) for total in totals), totals
    (count,) = by_question["how many customers do we have"]["rows"][0]
    live = "SELECT count(*) FROM staging.stg_qbo__customers WHERE NOT is_deleted AND coalesce(active, true)"
    assert count == pg_demo_run.rows(live)[0][0] > 0


def test_a_draft_is_the_same_record_on_postgresql_as_on_duckdb(
    demo_run: DemoRun, pg_demo_run: DemoRun
) -> None:
    """A write names its party and item as typed; both warehouses find the same linked records."""
    questions = [
        "create an invoice for cafe zurich gmbh for $500 for consulting",
        "draft a bill from Books by Bessie for $120.50 for printer paper",
    ]
    drafted = []
    for run in (demo_run, pg_demo_run):
        (realm,) = {r[0] for r in run.rows("SELECT realm_id FROM staging.stg_qbo__customers")}
        parser = RuleParser(NameIndex.from_warehouse(run.warehouse))
        for question in questions:
            dto, error = draft(run.connector, parser.parse(question, TODAY), realm, TODAY)
            assert error is None, (question, error)
            drafted.append(json.loads(json.dumps(dto).replace(dto["id"], "ask-id")))
    on_duckdb, on_postgres = drafted[: len(questions)], drafted[len(questions) :]
    assert on_postgres == on_duckdb
    invoice, bill = on_postgres
    assert invoice["customerId"] and invoice["lines"][0]["itemId"] and bill["lines"][0]["expenseAccountId"]


def _cli(run: DemoRun, *args: str) -> Any:
    store = f"sqlite:///{run.workdir / 'integration.sqlite'}"
    return CliRunner().invoke(app, ["--warehouse", str(run.warehouse), "--store", store, *args])


def test_qbo_ask_answers_from_a_postgresql_warehouse(
    demo_run: DemoRun, pg_demo_run: DemoRun, postgres_base: str, tmp_path: Path
) -> None:
    question = "Show me all unpaid invoices from last month over 1000 dollars"

    on_postgres = _cli(pg_demo_run, "ask", question, "--json")
    on_duckdb = _cli(demo_run, "ask", question, "--json")

    assert on_postgres.exit_code == 0, on_postgres.output
    answer, expected = json.loads(on_postgres.stdout), json.loads(on_duckdb.stdout)
    assert answer["ran_on"] == "warehouse" and answer["rows"]
    assert (answer["intent"], answer["columns"], answer["rows"]) == (
        expected["intent"],
        expected["columns"],
        expected["rows"],
    )
    plain = _cli(pg_demo_run, "ask", "how much did cafe zurich gmbh pay us this year")
    assert plain.exit_code == 0, plain.output
    assert "ran on:   warehouse" in plain.stdout and "(1 row)" in plain.stdout

    store = f"sqlite:///{tmp_path / 'store.sqlite'}"
    with pg_database(postgres_base) as empty:  # nothing synced into it yet
        unbuilt = CliRunner().invoke(app, ["--warehouse", empty, "--store", store, "ask", "list customers"])
    assert unbuilt.exit_code == 2
    assert "never synced" in unbuilt.output and "`qbo sync`" in unbuilt.output
    down = CliRunner().invoke(
        app, ["--warehouse", "postgresql://qbo:hunter22@127.0.0.1:1/wh", "--store", store, "ask", "x y z"]
    )
    assert down.exit_code == 2 and "cannot connect to the PostgreSQL warehouse" in down.output
    assert "hunter22" not in down.output


def test_qbo_mcp_answers_from_a_postgresql_warehouse(pg_demo_run: DemoRun) -> None:
    """`qbo mcp` as an orchestrator starts it, its warehouse a PostgreSQL URL in the environment."""
    environment = {
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "DO_NOT_TRACK": "1",
        "WAREHOUSE__URL": str(pg_demo_run.warehouse),
        "SOURCES__QUICKBOOKS__STORE_URL": f"sqlite:///{pg_demo_run.workdir / 'integration.sqlite'}",
    }
    server = StdioServerParameters(
        command=sys.executable, args=["-m", "pipelines.cli", "mcp"], cwd=str(ROOT), env=environment
    )

    async def session() -> types.CallToolResult:
        async with Client(server, read_timeout_seconds=120) as client:
            return await client.call_tool("qbo_ask", {"question": "invoices for muller and sohne kg"})

    asked = anyio.run(session)

    assert not asked.is_error, asked.content
    (text,) = asked.content
    assert isinstance(text, types.TextContent)
    answer = json.loads(text.text)
    assert answer["ran_on"] == "warehouse"
    assert answer["intent"]["filters"]["customerName"] == "Müller & Söhne KG"
    expected = pg_demo_run.rows(
        "SELECT i.qbo_id FROM staging.stg_qbo__invoices i JOIN staging.stg_qbo__customers c "
        "ON c.realm_id = i.realm_id AND c.qbo_id = i.customer WHERE NOT i.is_deleted "
        "AND c.display_name = ? ORDER BY i.txn_date DESC, i.qbo_id",
        "Müller & Söhne KG",
    )
    assert [row[0] for row in answer["rows"]] == [row[0] for row in expected][:100] != []
