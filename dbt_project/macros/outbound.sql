{#- The outbound models: what `qbo push` must send, per entity, in QBO's terms (columns named after
    QBO paths, so pipelines/push builds payloads from the spec). Creates for platform-only records of
    entities the tenant's platform masters; sparse updates of the platform-mastered fields that drifted;
    voids and deactivations waiting for approval. Records in conflict are left out (sync_conflicts). -#}

{#- The fields a push may write: those QBO does not compute (rendered `pushable`). Each carries its
    `outbound_columns`: [column, expression] as QBO takes it, from the platform record `base` and the
    joins below (lookup__, link__, default__); pipelines/mapping/outbound.py evaluates the same ones. -#}
{% macro pushable_fields(entity) -%}
    {{ return(mapping_spec()[entity]["fields"] | selectattr("pushable") | list) }}
{%- endmacro %}

{#- The realm's most common QBO value of each field with `create_default: most_common`. -#}
{% macro default_joins(entity, fields) -%}
    {%- for f in fields if f["create_default"] == "most_common" %}
left join (
    select realm_id, value
    from (
        select realm_id, {{ f["name"] }} as value,
            row_number() over (partition by realm_id order by count(*) desc, {{ f["name"] }}) as pick
        from {{ ref("stg_qbo__" ~ plural(mapping_spec()[entity]["table"])) }}
        where not is_deleted and {{ f["name"] }} is not null
        group by realm_id, {{ f["name"] }}
    ) as counted
    where pick = 1
) as default__{{ f["name"] }} on default__{{ f["name"] }}.realm_id = operations.realm_id
    {%- endfor %}
{%- endmacro %}

{#- Joins for the payload: a list record found by name (Term.Name -> Id), a reference through its link. -#}
{% macro payload_joins(fields, base_tenant="base.tenant_id", base_realm="base.realm_id") -%}
    {%- for f in fields -%}
        {%- if f["lookup_table"] %}
left join {{ ref("stg_qbo__" ~ plural(f["lookup_table"])) }} as lookup__{{ f["name"] }}
    on lookup__{{ f["name"] }}.realm_id = {{ base_realm }}
    and not lookup__{{ f["name"] }}.is_deleted
    and lower(lookup__{{ f["name"] }}.{{ f["lookup_column"] }}) = lower(base.{{ f["name"] }})
        {%- elif f["link"] %}
{{ link_join(f, base_tenant) }}
        {%- endif -%}
    {%- endfor -%}
{%- endmacro %}

{#- `, name,` found in a comma-separated list (", a, b,"): whether a field is in the payload. -#}
{% macro listed(list_expr, name) -%}
    (', ' || {{ list_expr }} || ',' like '%, {{ name }},%')
{%- endmacro %}

{% macro outbound(entity) -%}
    {%- set e = mapping_spec()[entity] -%}
    {%- set t = e["table"] -%}
    {%- set fields = pushable_fields(entity) -%}
    {%- set all_fields = (fields | map(attribute="name") | list) + (["lines"] if e["lines"] else []) -%}
with drift as (
    select * from {{ ref("sync_drift") }} where entity = '{{ entity }}'
),

{#- values a person entered (`qbo review resolve --value`): sent instead of the platform's -#}
entered as (
    select
        tenant_id,
        platform_id,
        {%- for f in fields %}
        max(case when field = '{{ f["name"] }}' then entered_value end) as {{ f["name"] }},
        {%- endfor %}
        count(*) as entries
    from drift
    where entered_value is not null
    group by tenant_id, platform_id
),

creates as (
    select
        mappings.tenant_id,
        mappings.realm_id,
        mappings.platform_id,
        cast(null as varchar) as qbo_id,
        'create' as operation,
        false as needs_approval,
        cast(null as varchar) as sync_token,
        '{{ all_fields | join(", ") }}' as payload_fields
    from {{ ref("sync_mappings") }} as mappings
    inner join {{ ref("sync_mastering_policy") }} as policy
        on policy.tenant_id = mappings.tenant_id and policy.entity = '{{ entity }}' and policy.field = '*'
    {%- if entity == "Invoice" %}
    inner join {{ ref("stg_platform__invoices") }} as invoices
        on invoices.tenant_id = mappings.tenant_id and invoices.platform_id = mappings.platform_id
    {%- endif %}
    where mappings.entity = '{{ entity }}'
        and mappings.status = 'platform_only'
        and policy.master = 'platform'
        {%- if entity == "Invoice" %}
        and invoices.status <> 'draft'
        and not coalesce(invoices.voided, false)
        {%- endif %}
),

updates as (
    select
        drift.tenant_id,
        drift.realm_id,
        drift.platform_id,
        drift.qbo_id,
        'update' as operation,
        false as needs_approval,
        pairs.sync_token,
        string_agg(drift.field, ', ' order by drift.field) as payload_fields
    from drift
    inner join {{ ref("int_sync__" ~ t ~ "_pairs") }} as pairs
        on pairs.tenant_id = drift.tenant_id and pairs.platform_id = drift.platform_id
    where drift.action = 'push' and not drift.needs_approval
    group by drift.tenant_id, drift.realm_id, drift.platform_id, drift.qbo_id, pairs.sync_token
),

destructive as (
    select
        drift.tenant_id,
        drift.realm_id,
        drift.platform_id,
        drift.qbo_id,
        {%- set ops = [] %}
        {%- for f in e["fields"] if f["destructive"] %}{% do ops.append(f) %}{% endfor %}
        {%- if ops %}
        case drift.field
            {%- for f in ops %} when '{{ f["name"] }}' then '{{ f["destructive"] }}'{% endfor %}
        end as operation,
        {%- else %}
        cast(null as varchar) as operation,
        {%- endif %}
        true as needs_approval,
        pairs.sync_token,
        drift.field as payload_fields
    from drift
    inner join {{ ref("int_sync__" ~ t ~ "_pairs") }} as pairs
        on pairs.tenant_id = drift.tenant_id and pairs.platform_id = drift.platform_id
    where drift.needs_approval
),

operations as (
    select * from creates
    union all select * from updates
    union all select * from destructive
),

payload as (
    select
        operations.*,
        {%- for f in fields %}
        {%- for column, expr in f["outbound_columns"] %}
        {%- if expr == "base." ~ f["name"] %}
        coalesce(cast(entered.{{ f["name"] }} as {{ f["sql_type"] }}), {{ expr }}) as {{ column }},
        {%- else %}
        {{ expr }} as {{ column }},
        {%- endif %}
        {%- endfor %}
        {%- endfor %}
        platform.unresolved_fields,
        platform.unresolved_lines,
        base.updated_at as platform_updated_at
    from operations
    inner join {{ ref("stg_platform__" ~ plural(t)) }} as base
        on base.tenant_id = operations.tenant_id and base.platform_id = operations.platform_id
    inner join {{ ref("int_sync__" ~ t ~ "_platform") }} as platform
        on platform.tenant_id = operations.tenant_id and platform.platform_id = operations.platform_id
    left join entered on entered.tenant_id = operations.tenant_id and entered.platform_id = operations.platform_id
    {{ payload_joins(fields) }}
    {{ default_joins(entity, fields) }}
)

select
    '{{ entity }}' as entity,
    tenant_id,
    realm_id,
    platform_id,
    qbo_id,
    operation,
    needs_approval,
    sync_token,
    payload_fields,
    {%- for f in fields %}
    {%- for column, expr in f["outbound_columns"] %}
    {{ column }},
    {%- endfor %}
    {%- endfor %}
    nullif(concat_ws(', ', unresolved_fields, unresolved_lines), '') as missing_references,
    nullif(concat_ws('; '
        {%- for f in fields %}
        {%- set value = f["outbound_columns"][0][0] %}
        {%- if f["required"] %},
        case when {{ listed("payload_fields", f["name"]) }} and {{ value }} is null then '{{ f["name"] }} is required' end
        {%- endif %}
        {%- if f["max_length"] %},
        case when {{ listed("payload_fields", f["name"]) }} and length(cast({{ value }} as varchar)) > {{ f["max_length"] }}
             then '{{ f["name"] }} is longer than {{ f["max_length"] }} characters (' || cast(length(cast({{ value }} as varchar)) as varchar) || ')' end
        {%- endif %}
        {%- endfor %}
    ), '') as preflight_problems,
    {{ e["payload_hash"] }} as payload_hash,
    platform_updated_at
from payload
{%- if e["lines"] %}
{#- only the lines of records sent (payload's records are operations'): not every platform record's -#}
{%- set sent_lines %}(
    select * from {{ ref("int_sync__" ~ t ~ "_lines_platform") }} as sent
    where exists (
        select 1 from operations where operations.tenant_id = sent.tenant_id and operations.platform_id = sent.record_id
    )
) as sent_lines{% endset %}
left join (
    select tenant_id as line_tenant_id, record_id, lines_signature
    from ({{ line_signatures(e["lines"], sent_lines, ["tenant_id", "record_id"], {"lines_signature": "v__"}) }}
    ) as signed
) as line_values on line_values.line_tenant_id = payload.tenant_id and line_values.record_id = payload.platform_id
{%- endif %}
{%- endmacro %}

{#- The lines of the outbound records whose payload carries lines, in QBO's terms. -#}
{% macro outbound_lines(entity) -%}
    {%- set e = mapping_spec()[entity] -%}
    {%- set lines = e["lines"] -%}
    {%- set key = lines["key"] -%}
with outbound as (
    select tenant_id, platform_id, operation
    from {{ ref("outbound_" ~ plural(e["table"])) }}
    where {{ listed("payload_fields", "lines") }}
),

base as (
    select lines.*, parent.tenant_id as record_tenant_id, parent.realm_id as record_realm_id, parent.platform_id
    from {{ ref(lines_model(entity, "platform")) }} as lines
    inner join {{ ref("stg_platform__" ~ plural(e["table"])) }} as parent on parent.dlt_id = lines.parent_dlt_id
)

select
    '{{ entity }}' as entity,
    base.record_tenant_id as tenant_id,
    base.record_realm_id as realm_id,
    base.platform_id,
    outbound.operation,
    {%- for column, types in lines["qbo_where"].items() %}
    {%- if types | length == 1 %}
    '{{ types[0] }}' as {{ column }},
    {%- else %}
    {#- of several detail types, the first whose detail the line fills (mapping/outbound.py _detail_types) #}
    case
        {%- for t in types %}{% for f in lines["fields"] if f["qbo_paths"][0].startswith(t ~ ".") %}
        when {{ f["outbound_columns"][0][1] }} is not null then '{{ t }}'
        {%- endfor %}{% endfor %}
        else '{{ types[0] }}'
    end as {{ column }},
    {%- endif %}
    {%- endfor %}
    {%- for f in [key] + lines["fields"] %}
    {%- for column, expr in f["outbound_columns"] %}
    {{ expr }} as {{ column }}{{ "," if not loop.last }}
    {%- endfor %}{{ "," if not loop.last }}
    {%- endfor %}
from base
inner join outbound on outbound.tenant_id = base.record_tenant_id and outbound.platform_id = base.platform_id
{{ payload_joins([key] + lines["fields"], "base.record_tenant_id", "base.record_realm_id") }}
{%- endmacro %}
