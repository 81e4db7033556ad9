{#- Who masters each field, per tenant: the spec's defaults under the configured overrides
    (var mastering_overrides; pipelines/mapping/policy.py applies the same precedence). `field = '*'`
    is the entity as a whole: whether the platform may create its records in QBO. -#}
with defaults as (
    {%- for entity, e in mapping_spec().items() %}
    select '{{ entity }}' as entity, '*' as field, '{{ e["master"] }}' as default_master, false as read_only
    {%- for f in compared_fields(entity) %}
    union all select '{{ entity }}', '{{ f["name"] }}', '{{ f["master"] }}', {{ f["read_only"] }}
    {%- endfor %}
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

overrides as (
    {%- for o in var("mastering_overrides") %}
    select
        '{{ o["tenant"] | replace("'", "''") }}' as tenant,
        '{{ o["entity"] }}' as entity,
        '{{ o["field"] }}' as field,
        '{{ o["master"] }}' as master,
        {{ (2 if o["tenant"] != "*" else 0) + (1 if o["field"] != "*" else 0) }} as specificity,
        {{ loop.index }} as position
    union all
    {%- endfor %}
    select
        cast(null as varchar) as tenant, cast(null as varchar) as entity, cast(null as varchar) as field,
        cast(null as varchar) as master, -1 as specificity, 0 as position
    where 1 = 0
),

tenants as (
    select distinct tenant_id from {{ ref("int_sync__tenants") }}
),

ranked as (
    select
        tenants.tenant_id,
        defaults.entity,
        defaults.field,
        defaults.read_only,
        defaults.default_master,
        overrides.master as override_master,
        row_number() over (
            partition by tenants.tenant_id, defaults.entity, defaults.field
            order by overrides.specificity desc nulls last, overrides.position desc nulls last
        ) as pick
    from tenants
    cross join defaults
    left join overrides
        on overrides.entity = defaults.entity
        and overrides.tenant in ('*', tenants.tenant_id)
        and overrides.field in ('*', defaults.field)
)

select
    tenant_id,
    entity,
    field,
    case when read_only then 'qbo' else coalesce(override_master, default_master) end as master,
    case
        when read_only then 'computed by QBO'
        when override_master is not null then 'tenant configuration'
        else 'default (mapping spec)'
    end as decided_by
from ranked
where pick = 1
