{#- QBO invoices with money still owed, aged on their due date as of var as_of_date (today by default). -#}
with invoices as (
    select * from {{ ref("stg_qbo__invoices") }} as invoices
    where not invoices.is_deleted and not {{ invoice_voided("invoices") }} and invoices.balance > 0
),

customers as (
    select realm_id, qbo_id, display_name from {{ ref("stg_qbo__customers") }}
)

select
    invoices.realm_id,
    invoices.qbo_id as invoice_qbo_id,
    invoices.doc_number,
    invoices.customer as customer_qbo_id,
    customers.display_name as customer_name,
    invoices.txn_date,
    invoices.due_date,
    invoices.total_amount,
    invoices.balance,
    greatest({{ as_of_date() }} - coalesce(invoices.due_date, invoices.txn_date), 0) as days_past_due,
    {{ aging_bucket(as_of_date() ~ " - coalesce(invoices.due_date, invoices.txn_date)") }} as aging_bucket
from invoices
left join customers on customers.realm_id = invoices.realm_id and customers.qbo_id = invoices.customer
