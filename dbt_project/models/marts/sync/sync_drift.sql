{#- Field-level drift: one row per (entity, record, field) whose mapped values differ after
    normalisation, with both values, both last-updated times, who masters the field for the tenant, and
    what to do: `push` (the next `qbo push` writes the platform's value to QBO), `pull` (the platform
    should take QBO's value: inbound_changes), `review` (both changed since the last sync: a conflict).
    A person's standing resolution of the field (`qbo review resolve`, the review console) decides the
    action instead, while the values and QBO's SyncToken are still those the person saw (`version`). -#}
with policy as (
    select * from {{ ref("sync_mastering_policy") }}
),

differences as (
    select
        *,
        {{ review_version("platform_value", "qbo_value", "sync_token") }} as version
    from {{ ref("int_sync__differences") }}
),

resolutions as (
    select
        entity, tenant_id, platform_id, field, version, choice, entered_value, seen_platform_value,
        seen_qbo_value, reviewer
    from (  -- the latest resolution of each field (a subquery, not qualify: PostgreSQL has none)
        select *, row_number() over (partition by entity, tenant_id, platform_id, field order by decision_id desc) as pick
        from {{ ref("stg_review__decisions") }}
        where kind = 'resolve'
    ) as latest
    where pick = 1
),

decided as (
    select
        differences.*,
        policy.master,
        resolutions.reviewer as resolved_by,
        -- an entered value before the push: QBO is sent it (outbound); after: the platform takes it
        case when resolutions.version = differences.version then resolutions.entered_value end as entered_value,
        differences.platform_changed and differences.qbo_changed and resolutions.choice is null as in_conflict,
        case
            when resolutions.choice = 'platform' then 'resolved_push'
            when resolutions.choice = 'value' and resolutions.version = differences.version then 'resolved_push'
            when resolutions.choice = 'value' then 'pull'
            when resolutions.choice = 'qbo' then 'pull'
            when differences.platform_changed and differences.qbo_changed then 'review'
            when differences.irreversible_in_qbo then 'pull'
            when policy.master = 'platform' then 'push'
            else 'pull'
        end as decided_action
    from differences
    inner join policy
        on policy.tenant_id = differences.tenant_id
        and policy.entity = differences.entity
        and policy.field = differences.field
    left join resolutions
        on resolutions.entity = differences.entity
        and resolutions.tenant_id = differences.tenant_id
        and resolutions.platform_id = differences.platform_id
        and resolutions.field = differences.field
        and (
            resolutions.version = differences.version
            or (  -- QBO holds the value the person chose, the platform still what they saw: it is told
                resolutions.choice in ('qbo', 'value')
                and differences.platform_value is not distinct from resolutions.seen_platform_value
                and {{ same_value("differences.qbo_value", "case when resolutions.choice = 'value' then resolutions.entered_value else resolutions.seen_qbo_value end") }}
            )
        )
),

{#- A push sets the record's new baseline, which would settle its other conflicting fields by the
    policy: a record's resolutions toward the platform wait until none of its fields is in conflict. -#}
held as (
    select
        *,
        case
            when decided_action <> 'resolved_push' then decided_action
            when count(*) filter (where in_conflict) over (partition by entity, tenant_id, platform_id) > 0 then 'review'
            else 'push'
        end as action
    from decided
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
    resolved_by,
    entered_value,
    sync_token,
    version,
    {{ needs_approval() }} as needs_approval,
    nullif(destructive_operation, '') as destructive_operation,
    case
        when resolved_by is not null and action = 'push' then 'Resolved by ' || resolved_by || ': the next `qbo push` writes the platform value to QBO'
        when resolved_by is not null and action = 'review' then 'Resolved by ' || resolved_by || ': pushed once the record''s other conflicting fields are decided'
        when resolved_by is not null then 'Resolved by ' || resolved_by || ': the platform takes the QBO value'
        when action = 'review' then 'Changed in both systems since the last sync: decide which value is right and correct the other system'
        when irreversible_in_qbo then 'Voided in QBO, which cannot be undone: mark it voided in the platform'
        when {{ needs_approval() }} then 'Destructive (' || destructive_operation || '): approve it (`qbo review approve`, or the review console) before `qbo push` sends it'
        when action = 'push' then 'The platform masters ' || field || ': the next `qbo push` writes the platform value to QBO'
        else 'QBO masters ' || field || ': the platform takes the QBO value (`qbo platform deliver` sends it)'
    end as what_to_do
from held
