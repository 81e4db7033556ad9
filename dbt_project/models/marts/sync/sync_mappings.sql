{#- Every record of every mapped entity, from either side, and how it maps: `linked` (the platform
    knows its QBO twin), `linked_qbo_deleted` / `linked_qbo_missing` (the twin is deleted in QBO, or not in
    the warehouse), `candidate` (unlinked, with a proposed match), `platform_only` (to create in QBO),
    `qbo_only` (QBO has it, the platform does not). -#}
with links as (
    select * from {{ ref("int_sync__links") }}
),

best as (
    select * from {{ ref("sync_candidate_matches") }} where is_best
),

realm_tenants as (
    select realm_id, min(tenant_id) as tenant_id from {{ ref("int_sync__tenants") }} group by realm_id
),

{%- for entity, e in mapping_spec().items() %}
{%- set t = e["table"] %}
{{ t }}_rows as (
    select
        '{{ entity }}' as entity,
        p.tenant_id,
        p.realm_id,
        p.platform_id,
        coalesce(links.qbo_id, best.qbo_id) as qbo_id,
        case
            when links.qbo_id is null and best.qbo_id is not null then 'candidate'
            when links.qbo_id is null then 'platform_only'
            when q.qbo_id is null then 'linked_qbo_missing'
            when q.is_deleted then 'linked_qbo_deleted'
            else 'linked'
        end as status,
        links.linked_by,
        links.synced_at as last_synced_at,
        p.updated_at as platform_updated_at,
        q.updated_at as qbo_updated_at
    from {{ ref("stg_platform__" ~ plural(t)) }} as p
    left join links
        on links.entity = '{{ entity }}' and links.tenant_id = p.tenant_id and links.platform_id = p.platform_id
    left join {{ ref("stg_qbo__" ~ plural(t)) }} as q
        on q.realm_id = links.realm_id and q.qbo_id = links.qbo_id
    left join best
        on best.entity = '{{ entity }}' and best.tenant_id = p.tenant_id and best.platform_id = p.platform_id

    union all

    select
        '{{ entity }}' as entity,
        coalesce(best.tenant_id, realm_tenants.tenant_id) as tenant_id,
        q.realm_id,
        best.platform_id,
        q.qbo_id,
        case when best.platform_id is not null then 'candidate' else 'qbo_only' end as status,
        cast(null as varchar) as linked_by,
        cast(null as timestamp) as last_synced_at,
        cast(null as timestamp) as platform_updated_at,
        q.updated_at as qbo_updated_at
    from {{ ref("stg_qbo__" ~ plural(t)) }} as q
    left join realm_tenants on realm_tenants.realm_id = q.realm_id
    left join best on best.entity = '{{ entity }}' and best.realm_id = q.realm_id and best.qbo_id = q.qbo_id
    where not q.is_deleted
        and not exists (
            select 1 from links
            where links.entity = '{{ entity }}' and links.realm_id = q.realm_id and links.qbo_id = q.qbo_id
        )
        and best.platform_id is null
),
{%- endfor %}

all_rows as (
    {%- for entity, e in mapping_spec().items() %}
    select * from {{ e["table"] }}_rows
    {{ "union all" if not loop.last }}
    {%- endfor %}
)

select * from all_rows
