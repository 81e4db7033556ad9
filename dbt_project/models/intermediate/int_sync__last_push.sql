{#- Each record's latest push outcome (the push log, `qbo push`): what QBO said the last time. -#}
with push_log as (
    select * from {{ ref("stg_push__push_log") }}
),

ranked as (
    select
        push_log.*,
        row_number() over (partition by entity, tenant_id, platform_id order by push_id desc) as newest
    from push_log
)

select push_id, entity, tenant_id, realm_id, platform_id, qbo_id, operation, outcome, error, payload_hash, pushed_at
from ranked
where newest = 1
