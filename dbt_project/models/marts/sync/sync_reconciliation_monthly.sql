{#- Invoice and payment totals per month in both systems (by transaction date), and the difference
    (no amount is 0.00: PostgreSQL shows a bare 0 as "0"). -#}
with qbo as (
    {%- for entity, model in [("Invoice", "invoices"), ("Payment", "payments")] %}
    select '{{ entity }}' as entity, realm_id, cast(date_trunc('month', txn_date) as date) as month,
        count(*) as records, sum(total_amount) as amount
    from {{ ref("stg_qbo__" ~ model) }}
    where not is_deleted
    group by realm_id, cast(date_trunc('month', txn_date) as date)
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

platform as (
    {%- for entity, model in [("Invoice", "invoices"), ("Payment", "payments")] %}
    select '{{ entity }}' as entity, realm_id, cast(date_trunc('month', txn_date) as date) as month,
        count(*) as records, sum(total_amount) as amount
    from {{ ref("stg_platform__" ~ model) }}
    group by realm_id, cast(date_trunc('month', txn_date) as date)
    {{ "union all" if not loop.last }}
    {%- endfor %}
)

select
    coalesce(qbo.entity, platform.entity) as entity,
    coalesce(qbo.realm_id, platform.realm_id) as realm_id,
    coalesce(qbo.month, platform.month) as month,
    coalesce(platform.records, 0) as platform_records,
    coalesce(qbo.records, 0) as qbo_records,
    coalesce(platform.amount, 0.00) as platform_amount,
    coalesce(qbo.amount, 0.00) as qbo_amount,
    coalesce(qbo.amount, 0.00) - coalesce(platform.amount, 0.00) as amount_difference
from qbo
full outer join platform
    on platform.entity = qbo.entity and platform.realm_id = qbo.realm_id and platform.month = qbo.month
