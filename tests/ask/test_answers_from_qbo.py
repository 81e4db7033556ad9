"""When the warehouse is not fresh enough, QBO answers: the same intent, its QBO query run on the sandbox,
the same rows the (just synced) warehouse gives."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from pipelines.ask.intent import QboIntent
from pipelines.ask.run import Asker
from sandbox.demo.world import World


@pytest.mark.parametrize(
    "intent",
    [
        {"operation": "LIST_INVOICES", "filters": {"status": "unpaid", "dateFrom": "2020-01-01"}},
        {"operation": "LIST_INVOICES", "filters": {"status": "Paid", "dateFrom": "2020-01-01"}},
        {"operation": "LIST_BILLS", "filters": {"dateFrom": "2020-01-01"}, "aggregate": "count"},
        {"operation": "LIST_CUSTOMERS", "aggregate": "count"},
    ],
)
def test_qbo_and_the_warehouse_give_the_same_answer(both_ways: Callable[..., Any], intent: dict) -> None:
    from_qbo, from_warehouse = both_ways(intent)
    assert [r[0] for r in from_qbo.rows] == [r[0] for r in from_warehouse.rows]
    assert from_qbo.rows  # the tiny company has some of each


def test_a_customers_payments_summed_from_qbo(synced: World) -> None:
    asker = Asker(synced.connector, fresh=timedelta(0))
    name = synced.sandbox.rules.read(synced.sandbox.store.realm(synced.realm_id), "Customer", "1")[
        "DisplayName"
    ]
    intent = QboIntent(operation="LIST_PAYMENTS", aggregate="sum", filters={"customer_name": name})
    from_qbo = asker.answer(intent)
    from_warehouse = Asker(synced.connector, fresh=timedelta(days=1)).answer(intent)
    assert from_qbo.rows == from_warehouse.rows
