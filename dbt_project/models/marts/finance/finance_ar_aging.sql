{#- Accounts receivable aging per customer: what is owed, by how late it is. (Zeros are written 0.00:
    PostgreSQL shows a bare 0 as "0", DuckDB as 0.00.) -#}
select
    realm_id,
    customer_qbo_id,
    max(customer_name) as customer_name,
    sum(case when aging_bucket = 'current' then balance else 0.00 end) as current_amount,
    sum(case when aging_bucket = '1-30' then balance else 0.00 end) as days_1_30,
    sum(case when aging_bucket = '31-60' then balance else 0.00 end) as days_31_60,
    sum(case when aging_bucket = '61-90' then balance else 0.00 end) as days_61_90,
    sum(case when aging_bucket = 'over 90' then balance else 0.00 end) as over_90,
    sum(balance) as total_open,
    count(*) as open_invoices
from {{ ref("finance_open_invoices") }}
group by realm_id, customer_qbo_id
