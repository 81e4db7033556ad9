{#- Each record's latest push outcome (the push log, `qbo push`): what QBO said the last time. -#}
with push_log as (
    {{ select_columns(source("push", "push_log"), [
        ["id", "push_id", "bigint"],
        ["entity", "entity", "varchar"],
        ["tenant_id", "tenant_id", "varchar"],
        ["realm_id", "realm_id", "varchar"],
        ["platform_id", "platform_id", "varchar"],
        ["qbo_id", "qbo_id", "varchar"],
        ["operation", "operation", "varchar"],
        ["outcome", "outcome", "varchar"],
        ["error", "error", "varchar"],
        ["payload_hash", "payload_hash", "varchar"],
        ["pushed_at", "pushed_at", "timestamptz"],
    ]) }}
),

ranked as (
    select
        push_log.*,
        row_number() over (partition by entity, tenant_id, platform_id order by push_id desc) as newest
    from push_log
)

select
    push_id, entity, tenant_id, realm_id, platform_id, qbo_id, operation, outcome, error, payload_hash,
    {{ utc("pushed_at") }} as pushed_at
from ranked
where newest = 1
