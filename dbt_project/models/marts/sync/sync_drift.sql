{#- Field-level drift: one row per (entity, record, field) whose mapped values differ after
    normalisation, with both values, both last-updated times, who masters the field for the tenant, and
    what to do: `push` (the next `qbo push` writes the platform's value to QBO), `pull` (the platform
    should take QBO's value: inbound_changes), `review` (both changed since the last sync: a conflict). -#}
with policy as (
    select * from {{ ref("sync_mastering_policy") }}
),

differences as (
    select * from {{ ref("int_sync__differences") }}
),

decided as (
    select
        differences.*,
        policy.master,
        differences.platform_changed and differences.qbo_changed as in_conflict,
        case
            when differences.platform_changed and differences.qbo_changed then 'review'
            when differences.irreversible_in_qbo then 'pull'
            when policy.master = 'platform' then 'push'
            else 'pull'
        end as action
    from differences
    inner join policy
        on policy.tenant_id = differences.tenant_id
        and policy.entity = differences.entity
        and policy.field = differences.field
)

select
    entity,
    tenant_id,
    realm_id,
    platform_id,
    qbo_id,
    field,
    platform_value,
    qbo_value,
    platform_updated_at,
    qbo_updated_at,
    last_synced_at,
    master,
    case
        when platform_changed and qbo_changed then 'both'
        when platform_changed then 'platform'
        when qbo_changed then 'qbo'
        else 'unknown'
    end as changed_in,
    in_conflict,
    action,
    {{ needs_approval() }} as needs_approval,
    case
        when action = 'review' then 'Changed in both systems since the last sync: decide which value is right and correct the other system'
        when irreversible_in_qbo then 'Voided in QBO, which cannot be undone: mark it voided in the platform'
        when {{ needs_approval() }} then 'Destructive (' || destructive_operation || '): approve it with `qbo approve` before `qbo push` sends it'
        when action = 'push' then 'The platform masters ' || field || ': the next `qbo push` writes the platform value to QBO'
        else 'QBO masters ' || field || ': update the platform with the QBO value (listed in inbound_changes)'
    end as what_to_do
from decided
