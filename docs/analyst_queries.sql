-- Example questions an analyst asks of the warehouse, one named block each ("-- name:" starts a
-- block, "-- question:" says what it answers), in plain SQL: they answer alike on a DuckDB or a
-- PostgreSQL warehouse. On the demo warehouse after `make demo` (var/demo/warehouse.duckdb):
--     uv run python docs/analyst_queries.py                        every query
--     uv run python docs/analyst_queries.py open_ar_by_customer    one of them
-- tests/transform/test_analyst_queries.py runs each on the demo warehouse and checks its columns.

-- name: open_ar_by_customer
-- question: Who owes us money, and how late is it? (open invoices, aged on their due date)
select
    customer_name,
    open_invoices,
    total_open,
    current_amount,
    days_1_30,
    days_31_60,
    days_61_90,
    over_90
from finance.finance_ar_aging
order by total_open desc, customer_name
limit 20;

-- name: sales_by_month
-- question: How much did we invoice each month, and how much of it is still unpaid?
select
    cast(date_trunc('month', txn_date) as date) as month,
    count(*) as invoices,
    sum(total_amount) as invoiced,
    sum(balance) as still_open
from staging.stg_qbo__invoices
where not is_deleted
group by cast(date_trunc('month', txn_date) as date)
order by month;

-- name: top_items
-- question: Which products and services bring in the most revenue?
select
    lines.item_name,
    count(distinct invoices.qbo_id) as invoices,
    sum(lines.quantity) as quantity,
    sum(lines.amount) as revenue
from staging.stg_qbo__invoice_lines as lines
inner join staging.stg_qbo__invoices as invoices on invoices.dlt_id = lines.parent_dlt_id
where lines.detail_type = 'SalesItemLineDetail' and not invoices.is_deleted
group by lines.item_name
order by revenue desc, lines.item_name
limit 10;

-- name: open_bills_by_vendor
-- question: What do we still owe each vendor?
select
    vendor_name,
    count(*) as open_bills,
    sum(balance) as owed,
    min(due_date) as first_due
from staging.stg_qbo__bills
where not is_deleted and balance > 0
group by vendor_name
order by owed desc, vendor_name;

-- name: drift_per_entity
-- question: Where do the platform and QBO disagree, and who acts on it?
select
    entity,
    count(distinct platform_id) as records,
    count(*) as fields,
    sum(case when action = 'push' then 1 else 0 end) as to_push,
    sum(case when action = 'pull' then 1 else 0 end) as to_pull,
    sum(case when action = 'review' then 1 else 0 end) as to_review
from sync.sync_drift
group by entity
order by fields desc, entity;

-- name: sync_issues
-- question: What stops records from syncing, and what should we do about it?
select
    issue,
    entity,
    count(*) as records,
    min(what_to_do) as what_to_do
from sync.sync_issues
group by issue, entity
order by records desc, issue, entity;
