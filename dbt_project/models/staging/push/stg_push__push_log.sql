{#- What every push did, one row per operation (written by `qbo push`): renamed and cast. -#}
with source as (
    {{ select_columns(source("push", "push_log"), [
        ["id", "push_id", "bigint"],
        ["entity", "entity", "varchar"],
        ["tenant_id", "tenant_id", "varchar"],
        ["realm_id", "realm_id", "varchar"],
        ["platform_id", "platform_id", "varchar"],
        ["qbo_id", "qbo_id", "varchar"],
        ["sync_token", "sync_token", "varchar"],
        ["operation", "operation", "varchar"],
        ["request_id", "request_id", "varchar"],
        ["outcome", "outcome", "varchar"],
        ["error", "error", "varchar"],
        ["payload_hash", "payload_hash", "varchar"],
        ["pushed_at", "pushed_at", "timestamptz"],
    ]) }}
)

select
    push_id, entity, tenant_id, realm_id, platform_id, qbo_id, sync_token, operation, request_id, outcome,
    error, payload_hash, {{ utc("pushed_at") }} as pushed_at
from source
