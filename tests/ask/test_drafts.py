"""Writes drafted as asked: "3 hours of consulting at 150" is a line of 3 x 150 = 450 (not an invoice
of $3), the item found by name, the due date from the customer's or vendor's terms, and the draft shown
in full (who, lines, total, due date) when queued and when listed. Expected values come from SQL over
the demo warehouse written here."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pipelines.ask import draft_view
from pipelines.ask.draft_words import take_line
from pipelines.ask.drafts import draft
from pipelines.ask.folded_text import MaskedText
from pipelines.ask.intent import QboIntent
from pipelines.ask.parse_error import ParseError
from pipelines.ask.run import Asker
from pipelines.runtime.connector import Connector
from pipelines.runtime.settings import Settings
from pipelines.transform.publish import publish
from tests.demo_runs import DemoRun

TODAY = date(2026, 12, 7)


# ------------------------------------------------------------------------- quantity x price, from words
@pytest.mark.parametrize(
    ("text", "line"),
    [
        (
            "create an invoice for Acme for 3 hours of consulting at 150",
            {"quantity": "3", "unitPrice": "150", "amount": "450.00", "itemName": "consulting"},
        ),
        (
            "invoice Acme for 2 units of Mulch at $40 each",
            {"quantity": "2", "unitPrice": "40", "amount": "80.00", "itemName": "Mulch"},
        ),
        (
            "bill for 5 Patio Chairs at 80 each",
            {"quantity": "5", "unitPrice": "80", "amount": "400.00", "itemName": "Patio Chairs"},
        ),
        ("3 hours at $150/hour for design", {"quantity": "3", "unitPrice": "150", "amount": "450.00"}),
        ("10 x 1,250.50", {"quantity": "10", "unitPrice": "1250.50", "amount": "12505.00"}),
        ("1.5 hours of gardening at 10.33", {"quantity": "1.5", "unitPrice": "10.33", "amount": "15.50"}),
    ],
)
def test_quantity_times_price(text: str, line: dict[str, str]) -> None:
    t = MaskedText.of(text)
    found = take_line(t)
    assert found is not None
    assert {k: found[k] for k in line} == line
    assert "150" not in t.m.replace("1250", "")  # read once: no number left for an amount to take


def test_no_line_where_there_is_no_quantity_and_price() -> None:
    assert take_line(MaskedText.of("create an invoice for Acme for $500 for consulting")) is None


def test_a_quantity_of_nothing_is_refused() -> None:
    with pytest.raises(ParseError, match="quantity '0'"):
        take_line(MaskedText.of("invoice Acme for 0 hours of consulting at 150"))


# ------------------------------------------------------------------------------ on the demo warehouse
@pytest.fixture(scope="module")
def linked(demo_run: DemoRun, tmp_path_factory: pytest.TempPathFactory) -> Connector:
    """A store of its own with the references `qbo transform` publishes (the links to platform records)."""
    store = tmp_path_factory.mktemp("drafts") / "store.sqlite"
    connector = Connector(Settings(warehouse=demo_run.warehouse, store_url=f"sqlite:///{store}"))
    publish(demo_run.warehouse, connector.store)
    return connector


def _customer_with_terms(demo_run: DemoRun) -> tuple[str, str, int, str]:
    """(name, QBO Id, the terms' days, the term's Id) of a linked customer whose terms have days."""
    return demo_run.rows(
        "SELECT c.display_name, c.qbo_id, t.due_days, t.qbo_id FROM staging.stg_qbo__customers c "
        "JOIN sync.sync_mappings m ON m.realm_id = c.realm_id AND m.qbo_id = c.qbo_id "
        "AND m.entity = 'Customer' AND m.status = 'linked' "
        "JOIN staging.stg_qbo__terms t ON t.realm_id = c.realm_id AND t.qbo_id = c.payment_terms "
        "WHERE NOT c.is_deleted AND c.active AND t.due_days > 0 ORDER BY c.display_name LIMIT 1"
    )[0]


def _item(demo_run: DemoRun, name: str) -> tuple[str, str]:
    """(QBO Id, platform id) of the linked item called `name`."""
    return demo_run.rows(
        "SELECT i.qbo_id, m.platform_id FROM staging.stg_qbo__items i JOIN sync.sync_mappings m "
        "ON m.realm_id = i.realm_id AND m.qbo_id = i.qbo_id AND m.entity = 'Item' AND m.status = 'linked' "
        "WHERE i.name = ?",
        name,
    )[0]


def _realm(demo_run: DemoRun) -> str:
    return demo_run.rows("SELECT DISTINCT realm_id FROM staging.stg_qbo__customers")[0][0]


def _intent(customer: str, words: str) -> QboIntent:
    """What the rule parser drafts from "create an invoice for <customer> for <words>"."""
    line = take_line(MaskedText.of(f"create an invoice for {customer} for {words}"))
    assert line is not None
    return QboIntent(operation="CREATE_INVOICE", record={"customerName": customer, **line})


def test_three_hours_of_consulting_at_150_is_one_line_of_450(demo_run: DemoRun, linked: Connector) -> None:
    customer, _, days, term = _customer_with_terms(demo_run)
    _, consulting = _item(demo_run, "Consulting")
    dto, error = draft(linked, _intent(customer, "3 hours of consulting at 150"), _realm(demo_run), TODAY)

    assert error is None, error
    (line,) = dto["lines"]
    assert (Decimal(line["quantity"]), Decimal(line["unitPrice"]), Decimal(line["amount"])) == (3, 150, 450)
    assert line["itemId"] == consulting  # the item by name
    assert Decimal(dto["totalAmount"]) == Decimal(dto["balance"]) == 450
    assert dto["dueDate"] == (TODAY + timedelta(days=days)).isoformat()  # from the customer's terms
    assert dto["paymentTermsId"] == term


def test_the_item_is_found_as_people_say_it(demo_run: DemoRun, linked: Connector) -> None:
    """A plural ("Patio Chairs"), any case; a part of several items' names is refused naming them."""
    customer = _customer_with_terms(demo_run)[0]
    realm = _realm(demo_run)
    _, chair = _item(demo_run, "Patio Chair")
    dto, error = draft(linked, _intent(customer, "5 patio chairs at 80 each"), realm, TODAY)
    assert error is None, error
    assert dto["lines"][0]["itemId"] == chair and dto["totalAmount"] == "400.00"

    several = sorted(
        r[0]
        for r in demo_run.rows(
            "SELECT name FROM staging.stg_qbo__items "
            "WHERE active AND NOT is_deleted AND lower(name) LIKE 'sprinkler%'"
        )
    )
    assert len(several) > 1
    _, error = draft(linked, _intent(customer, "2 units of sprinkler at 40"), realm, TODAY)
    assert error is not None and error["details"][0]["field"] == "lines[0].itemId"
    assert all(name in error["message"] for name in several)


def test_an_amount_that_is_not_quantity_times_price_is_incomplete(
    demo_run: DemoRun, linked: Connector
) -> None:
    customer = _customer_with_terms(demo_run)[0]
    record: dict[str, Any] = {
        "customerName": customer,
        "quantity": "3",
        "unitPrice": "150",
        "amount": "3",
        "itemName": "Consulting",
    }
    _, error = draft(linked, QboIntent(operation="CREATE_INVOICE", record=record), _realm(demo_run), TODAY)
    assert error is not None and "quantity x unitPrice" in error["message"] and "450" in error["message"]


def test_a_bill_is_due_by_the_vendors_terms(demo_run: DemoRun, linked: Connector) -> None:
    vendor, days = demo_run.rows(
        "SELECT v.display_name, t.due_days FROM staging.stg_qbo__vendors v "
        "JOIN sync.sync_mappings m ON m.realm_id = v.realm_id AND m.qbo_id = v.qbo_id "
        "AND m.entity = 'Vendor' AND m.status = 'linked' "
        "JOIN staging.stg_qbo__terms t ON t.realm_id = v.realm_id AND t.qbo_id = v.payment_terms "
        "WHERE NOT v.is_deleted AND v.active AND t.due_days > 0 AND EXISTS (SELECT 1 FROM "
        "staging.stg_qbo__bills b WHERE b.realm_id = v.realm_id AND b.vendor = v.qbo_id) "
        "ORDER BY v.display_name LIMIT 1"
    )[0]
    intent = QboIntent(operation="CREATE_BILL", record={"vendorName": vendor, "amount": "120"})
    dto, error = draft(linked, intent, _realm(demo_run), TODAY)
    assert error is None, error
    assert dto["dueDate"] == (TODAY + timedelta(days=days)).isoformat()


def test_the_draft_is_shown_in_full_when_queued_and_listed(demo_run: DemoRun, linked: Connector) -> None:
    customer, _, days, _ = _customer_with_terms(demo_run)
    asker = Asker(linked, caller="test", fresh=timedelta(days=1))
    answer = asker.answer(_intent(customer, "3 hours of consulting at 150"), today=TODAY)
    assert answer.rows[0][1] == "pending", answer.notes

    shown = draft_view.queued(linked, answer.rows[0][0])
    assert shown is not None
    assert (shown["party"], shown["totalAmount"], shown["dueDate"]) == (
        customer,
        "450.00",
        (TODAY + timedelta(days=days)).isoformat(),
    )
    assert [(ln["item"], ln["quantity"], ln["unitPrice"], ln["amount"]) for ln in shown["lines"]] == [
        ("Consulting", "3", "150.00", "450.00")
    ]
    text = "\n".join(draft_view.text(shown))
    assert f"Invoice to {customer}" in text and "Consulting" in text
    assert "3 x 150.00 = 450.00" in text and "total 450.00 USD" in text
    assert f"due {(TODAY + timedelta(days=days)).isoformat()}" in text
    listed = [draft_view.of_row(linked, row) for row in linked.store.intents.pending_writes()]
    assert shown in listed  # every listing shows the same


def test_qbo_ask_prints_the_queued_draft(demo_run: DemoRun, linked: Connector, tmp_path: Path) -> None:
    """A write asked with `--json` answers with the draft in full (`draft`), the plain output as lines."""
    from typer.testing import CliRunner

    from pipelines.cli.app import app

    customer = _customer_with_terms(demo_run)[0]
    env = {
        "SOURCES__QUICKBOOKS__WAREHOUSE": str(demo_run.warehouse),
        "SOURCES__QUICKBOOKS__STORE_URL": str(linked.settings.store_url),
    }
    question = f'create an invoice for "{customer}" for $500 for consulting'
    shown = CliRunner().invoke(app, ["ask", question, "--json"], env=env)
    assert shown.exit_code == 0, shown.output
    answer = json.loads(shown.stdout)
    assert answer["ran_on"] == "approval_queue"
    assert answer["draft"]["party"] == customer and answer["draft"]["totalAmount"] == "500.00"
    assert answer["draft"]["lines"][0]["item"] == "Consulting"

    plain = CliRunner().invoke(app, ["ask", question], env=env)
    assert plain.exit_code == 0, plain.output
    assert f"Invoice to {customer}" in plain.stdout and "1 x 500.00 = 500.00" in plain.stdout


def test_qbo_mcp_answers_a_draft_with_itself_in_full(demo_run: DemoRun, linked: Connector) -> None:
    from functools import partial

    from pipelines.ask.mcp_server import call_tool

    customer = _customer_with_terms(demo_run)[0]
    asker = Asker(linked, caller="test", fresh=timedelta(days=1))
    intent = _intent(customer, "2 units of Mulch at $40 each")

    def refuse_words(_: str) -> QboIntent:
        raise AssertionError("an intent is not parsed")

    result = call_tool(
        asker.answer, refuse_words, "qbo_draft", intent.wire(), describe=partial(draft_view.queued, linked)
    )
    assert not result.is_error, result.content[0].text
    shown = json.loads(result.content[0].text)["draft"]
    assert shown["party"] == customer and shown["totalAmount"] == "80.00"
    assert [(ln["item"], ln["quantity"], ln["unitPrice"]) for ln in shown["lines"]] == [
        ("Mulch", "2", "40.00")
    ]


def test_drafts_read_the_same_on_postgresql(demo_run: DemoRun, pg_demo_run: DemoRun, tmp_path: Path) -> None:
    """Item by name, quantity x price and the due date from terms: the same draft on both warehouses."""
    drafted = []
    for run in (demo_run, pg_demo_run):
        settings = replace(run.settings, store_url=f"sqlite:///{tmp_path / run.workdir.name}.db")
        connector = Connector(settings)
        publish(run.warehouse, connector.store)
        customer = _customer_with_terms(run)[0]
        dto, error = draft(connector, _intent(customer, "3 hours of consulting at 150"), _realm(run), TODAY)
        assert error is None, error
        drafted.append(
            ({k: v for k, v in dto.items() if k not in ("id", "lines")}, dto["lines"][0]["quantity"])
        )
    assert drafted[0] == drafted[1]
