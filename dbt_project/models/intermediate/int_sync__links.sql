{#- Every link between a platform record and a QBO record: the platform's own qboId, and the records
    pushes created or updated (the push log) that the platform has not recorded yet. With each link, the
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
        case when p.platform_id is null then 'push' else 'platform' end as linked_by
    from platform_links as p
    full outer join (select * from last_push where newest = 1) as pushed
        on pushed.entity = p.entity and pushed.tenant_id = p.tenant_id and pushed.platform_id = p.platform_id
)

select * from merged
