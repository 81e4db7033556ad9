{#- Per tenant, realm and entity: records and amounts in each system, how they map, and how much
    drifts or conflicts. What finance checks first. -#}
{% set amounts = {"Invoice": "total_amount", "Bill": "total_amount", "Payment": "total_amount"} %}
with mappings as (
    select
        entity, tenant_id, realm_id,
        count(platform_id) as platform_records,
        sum(case when status in ('linked', 'linked_qbo_deleted', 'linked_qbo_missing') then 1 else 0 end) as linked,
        sum(case when status = 'candidate' and platform_id is not null then 1 else 0 end) as candidates,
        sum(case when status = 'platform_only' then 1 else 0 end) as platform_only,
        sum(case when status = 'qbo_only' then 1 else 0 end) as qbo_only
    from {{ ref("sync_mappings") }}
    group by entity, tenant_id, realm_id
),

qbo as (
    {%- for entity, e in mapping_spec().items() %}
    select
        '{{ entity }}' as entity,
        realm_id,
        count(*) as qbo_records,
        {{ "sum(" ~ amounts[entity] ~ ")" if entity in amounts else "cast(null as decimal(18, 2))" }} as qbo_amount
    from {{ ref("stg_qbo__" ~ plural(e["table"])) }}
    where not is_deleted
    group by realm_id
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

platform as (
    {%- for entity, e in mapping_spec().items() %}
    select
        '{{ entity }}' as entity,
        tenant_id,
        realm_id,
        {{ "sum(" ~ amounts[entity] ~ ")" if entity in amounts else "cast(null as decimal(18, 2))" }} as platform_amount
    from {{ ref("stg_platform__" ~ plural(e["table"])) }}
    group by tenant_id, realm_id
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

drift as (
    select entity, tenant_id, realm_id, count(*) as drift_fields, count(distinct platform_id) as drift_records
    from {{ ref("sync_drift") }}
    group by entity, tenant_id, realm_id
),

conflicts as (
    select entity, tenant_id, realm_id, count(*) as conflicts
    from {{ ref("sync_conflicts") }}
    group by entity, tenant_id, realm_id
)

select
    mappings.entity,
    mappings.tenant_id,
    mappings.realm_id,
    mappings.platform_records,
    coalesce(qbo.qbo_records, 0) as qbo_records,
    mappings.linked,
    mappings.candidates,
    mappings.platform_only,
    mappings.qbo_only,
    coalesce(drift.drift_records, 0) as drift_records,
    coalesce(drift.drift_fields, 0) as drift_fields,
    coalesce(conflicts.conflicts, 0) as conflicts,
    platform.platform_amount,
    qbo.qbo_amount,
    qbo.qbo_amount - platform.platform_amount as amount_difference
from mappings
left join qbo on qbo.entity = mappings.entity and qbo.realm_id = mappings.realm_id
left join platform
    on platform.entity = mappings.entity and platform.tenant_id = mappings.tenant_id and platform.realm_id = mappings.realm_id
left join drift
    on drift.entity = mappings.entity and drift.tenant_id = mappings.tenant_id and drift.realm_id = mappings.realm_id
left join conflicts
    on conflicts.entity = mappings.entity and conflicts.tenant_id = mappings.tenant_id and conflicts.realm_id = mappings.realm_id
where mappings.tenant_id is not null
