{#- Every link between a platform record and a QBO record: the platform's own qboId, candidate pairs
    a person confirmed (`qbo review confirm`), and the records pushes created or updated (the push
    log) that the platform has not recorded yet. With each link, the
    SyncToken and time of the last sync either side knows of: what "changed since the last sync" means. -#}
with platform_links as (
    {% for entity, e in mapping_spec().items() %}
    select
        '{{ entity }}' as entity,
        tenant_id,
        realm_id,
        platform_id,
        qbo_id,
        qbo_sync_token as synced_token,
        last_synced_at as synced_at
    from {{ ref("stg_platform__" ~ plural(e["table"])) }}
    where qbo_id is not null
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

confirmed as (  -- no sync baseline yet: the mastering policy decides each differing field
    select entity, tenant_id, realm_id, platform_id, qbo_id, synced_token, synced_at
    from (  -- the latest confirmation (a subquery, not qualify: PostgreSQL has none)
        select decided.entity, decided.tenant_id, decided.realm_id, decided.platform_id, decided.qbo_id,
            cast(null as varchar) as synced_token, cast(null as timestamptz) as synced_at,
            row_number() over (partition by decided.entity, decided.tenant_id, decided.platform_id
                               order by decided.decision_id desc) as pick
        from {{ ref("stg_review__decisions") }} as decided
        where decided.kind = 'confirm' and not exists (
            select 1 from platform_links as own
            where own.entity = decided.entity and own.tenant_id = decided.tenant_id
                and own.platform_id = decided.platform_id
        )
    ) as latest
    where pick = 1
),

known_links as (
    select *, 'platform' as linked_by from platform_links
    union all
    select *, 'review' as linked_by from confirmed
),

push_log as (
    select * from {{ ref("stg_push__push_log") }}
),

last_push as (
    select
        entity, tenant_id, realm_id, platform_id, qbo_id, sync_token, pushed_at,
        row_number() over (partition by entity, tenant_id, platform_id order by pushed_at desc) as newest
    from push_log
    where outcome = 'ok' and qbo_id is not null
),

{%- set newer_push = "pushed.qbo_id = coalesce(p.qbo_id, pushed.qbo_id) and (p.synced_at is null or pushed.pushed_at > p.synced_at)" %}
merged as (
    select
        coalesce(p.entity, pushed.entity) as entity,
        coalesce(p.tenant_id, pushed.tenant_id) as tenant_id,
        coalesce(p.realm_id, pushed.realm_id) as realm_id,
        coalesce(p.platform_id, pushed.platform_id) as platform_id,
        coalesce(p.qbo_id, pushed.qbo_id) as qbo_id,
        case when {{ newer_push }} then pushed.sync_token else p.synced_token end as synced_token,
        case when {{ newer_push }} then pushed.pushed_at else p.synced_at end as synced_at,
        coalesce(p.linked_by, 'push') as linked_by
    from known_links as p
    full outer join (select * from last_push where newest = 1) as pushed
        on pushed.entity = p.entity and pushed.tenant_id = p.tenant_id and pushed.platform_id = p.platform_id
)

select * from merged
