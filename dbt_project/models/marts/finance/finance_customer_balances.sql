{#- Customer balances recomputed from transactions (invoices less the payments applied to them) and
    compared with the Balance QBO reports; a difference means an application, credit or void that
    the books and the warehouse disagree on. Zeros are written 0.00, as PostgreSQL shows a bare 0 as "0". -#}
with invoices as (
    select * from {{ ref("stg_qbo__invoices") }} where not is_deleted
),

applied as (
    select linked.realm_id, linked.txn_id as invoice_qbo_id, sum(lines.amount) as applied_amount
    from {{ ref("stg_qbo__payment_line_linked_txns") }} as linked
    inner join {{ ref("stg_qbo__payment_lines") }} as lines on lines.dlt_id = linked.parent_dlt_id
    inner join {{ ref("stg_qbo__payments") }} as payments on payments.dlt_id = lines.parent_dlt_id
    where linked.txn_type = 'Invoice' and not payments.is_deleted
    group by linked.realm_id, linked.txn_id
),

per_customer as (
    select
        invoices.realm_id,
        invoices.customer as customer_qbo_id,
        sum(invoices.balance) as open_invoice_balance,
        sum(greatest(invoices.total_amount - coalesce(applied.applied_amount, 0.00), 0.00)) as recomputed_balance,
        count(*) as invoices
    from invoices
    left join applied on applied.realm_id = invoices.realm_id and applied.invoice_qbo_id = invoices.qbo_id
    group by invoices.realm_id, invoices.customer
)

select
    customers.realm_id,
    customers.qbo_id as customer_qbo_id,
    customers.display_name as customer_name,
    customers.balance as qbo_balance,
    coalesce(per_customer.open_invoice_balance, 0.00) as open_invoice_balance,
    coalesce(per_customer.recomputed_balance, 0.00) as recomputed_balance,
    coalesce(per_customer.recomputed_balance, 0.00) - coalesce(customers.balance, 0.00) as difference,
    coalesce(per_customer.recomputed_balance, 0.00) = coalesce(customers.balance, 0.00) as agrees
from {{ ref("stg_qbo__customers") }} as customers
left join per_customer
    on per_customer.realm_id = customers.realm_id and per_customer.customer_qbo_id = customers.qbo_id
where not customers.is_deleted
