"""Finance marts on the demo company: balances recomputed from transactions agree with QBO's."""

from __future__ import annotations

from decimal import Decimal

from tests.demo_runs import DemoRun


def test_customer_balances_recomputed_from_transactions_agree_with_qbo(demo_run: DemoRun) -> None:
    rows = demo_run.rows(
        "SELECT customer_qbo_id, qbo_balance, recomputed_balance, agrees "
        "FROM finance.finance_customer_balances"
    )
    assert rows and all(agrees for *_, agrees in rows), [r for r in rows if not r[3]][:5]
    assert sum(r[1] for r in rows) > 0


def test_ar_aging_adds_up_to_what_customers_owe(demo_run: DemoRun) -> None:
    ((aged, buckets),) = demo_run.rows(
        "SELECT sum(total_open), sum(current_amount + days_1_30 + days_31_60 + days_61_90 + over_90) "
        "FROM finance.finance_ar_aging"
    )
    (owed,) = demo_run.rows("SELECT sum(balance) FROM staging.stg_qbo__customers WHERE NOT is_deleted")[0]
    assert aged == buckets == owed and owed > Decimal(0)


def test_monthly_reconciliation_covers_both_systems(demo_run: DemoRun) -> None:
    rows = demo_run.rows(
        "SELECT entity, sum(platform_amount), sum(qbo_amount) "
        "FROM sync.sync_reconciliation_monthly GROUP BY entity"
    )
    totals = {e: (p, q) for e, p, q in rows}
    assert set(totals) == {"Invoice", "Payment"}
    qbo_invoices = demo_run.rows(
        "SELECT sum(total_amount) FROM staging.stg_qbo__invoices WHERE NOT is_deleted"
    )[0][0]
    assert totals["Invoice"][1] == qbo_invoices
