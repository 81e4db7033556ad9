{#- Records holding numbers the models cannot read as their decimals (shown empty there, never failing
    the build: macros/out_of_range.sql), and QBO records the sync loaded rounded or clamped
    (`extreme_values`, sources/quickbooks/extract.py): one row per record and kind, for sync_issues. -#}
{%- set lined = [] -%}
{%- for entity, e in mapping_spec().items() if e["lines"] -%}{%- do lined.append(entity) -%}{%- endfor %}
with qbo_values as (
    {%- for entity, model in qbo_staging_models().items() %}
    select '{{ entity }}' as entity, realm_id, qbo_id, out_of_range, extreme_values
    from {{ ref(model) }}
    where out_of_range is not null or extreme_values is not null
    union all
    {%- endfor %}
    {%- for entity in lined %}
    select '{{ entity }}' as entity, parent.realm_id, parent.qbo_id,
        {{ line_prefixed("lines") }} as out_of_range,
        cast(null as varchar) as extreme_values
    from {{ ref(lines_model(entity, "qbo")) }} as lines
    inner join {{ ref(qbo_staging_models()[entity]) }} as parent on parent.dlt_id = lines.parent_dlt_id
    where lines.out_of_range is not null
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

platform_values as (
    {%- for entity, e in mapping_spec().items() %}
    select '{{ entity }}' as entity, tenant_id, realm_id, platform_id, qbo_id, out_of_range
    from {{ ref("stg_platform__" ~ plural(e["table"])) }}
    where out_of_range is not null
    union all
    {%- endfor %}
    {%- for entity in lined %}
    select '{{ entity }}' as entity, parent.tenant_id, parent.realm_id, parent.platform_id, parent.qbo_id,
        {{ line_prefixed("lines") }} as out_of_range
    from {{ ref(lines_model(entity, "platform")) }} as lines
    inner join {{ ref("stg_platform__" ~ plural(mapping_spec()[entity]["table"])) }} as parent
        on parent.dlt_id = lines.parent_dlt_id
    where lines.out_of_range is not null
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

qbo_records as (
    select entity, realm_id, qbo_id,
        string_agg(out_of_range, '; ' order by out_of_range like 'line %', out_of_range) as out_of_range,
        max(extreme_values) as extreme_values
    from qbo_values
    group by entity, realm_id, qbo_id
),

qbo_issues as (
    select entity, realm_id, qbo_id,
        'value_out_of_range' as issue,
        'QuickBooks holds numbers beyond what the models read, shown empty (and compared as 0): '
            || out_of_range as detail,
        'Check these amounts in QuickBooks and correct them there if they are mistakes; the next sync '
            || 'and transform clear the issue' as what_to_do
    from qbo_records
    where out_of_range is not null
    union all
    select entity, realm_id, qbo_id,
        'value_rounded' as issue,
        'the sync loaded these QuickBooks numbers rounded to what the warehouse holds (decimal(38,9)): '
            || extreme_values as detail,
        'Check these numbers in QuickBooks and correct them there if they are mistakes; if they are '
            || 'right, acknowledge the issue' as what_to_do
    from qbo_records
    where extreme_values is not null
),

links as (
    select distinct entity, tenant_id, realm_id, platform_id, qbo_id from {{ ref("int_sync__links") }}
),

platform_records as (
    select entity, tenant_id, realm_id, platform_id, qbo_id,
        string_agg(out_of_range, '; ' order by out_of_range like 'line %', out_of_range) as out_of_range
    from platform_values
    group by entity, tenant_id, realm_id, platform_id, qbo_id
)

{#- a QBO record's issue goes to the tenant linked to it, else to every tenant of its realm -#}
select
    q.entity,
    coalesce(links.tenant_id, tenants.tenant_id) as tenant_id,
    q.realm_id,
    links.platform_id,
    q.qbo_id,
    q.issue,
    q.detail,
    q.what_to_do
from qbo_issues as q
left join links on links.entity = q.entity and links.realm_id = q.realm_id and links.qbo_id = q.qbo_id
left join {{ ref("int_sync__tenants") }} as tenants on links.qbo_id is null and tenants.realm_id = q.realm_id

union all

select
    entity, tenant_id, realm_id, platform_id, qbo_id,
    'value_out_of_range' as issue,
    'the platform holds numbers beyond what the models read, shown empty (and compared as 0): '
        || out_of_range as detail,
    'Correct these amounts in the platform and load the platform records again (`qbo platform load`)'
        as what_to_do
from platform_records
