{#- Platform records the contract refused, until a valid version of the same record loads. -#}
with rejected as (
    {{ select_columns(source("platform", "rejected"), [
        ["entity", "entity", "varchar"],
        ["record_key", "record_key", "varchar"],
        ["tenant_id", "tenant_id", "varchar"],
        ["record_id", "platform_id", "varchar"],
        ["source", "read_from", "varchar"],
        ["code", "code", "varchar"],
        ["message", "message", "varchar"],
        ["errors", "errors", "varchar"],
        ["record", "record", "varchar"],
        ["rejected_at", "rejected_at", "timestamptz"],
        ["_dlt_load_id", "dlt_load_id", "varchar"],
    ]) }}
),

loaded as (
    {% for entity, table in [("Customer", "customers"), ("Vendor", "vendors"), ("Item", "items"),
                             ("Invoice", "invoices"), ("Bill", "bills"), ("Payment", "payments")] %}
    select '{{ entity }}' as entity, tenant_id, platform_id, dlt_load_id
    from {{ ref("stg_platform__" ~ table) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
)

select
    rejected.entity,
    rejected.record_key,
    rejected.tenant_id,
    rejected.platform_id,
    rejected.read_from,
    rejected.code,
    rejected.message,
    rejected.errors,
    rejected.record,
    {{ utc("rejected.rejected_at") }} as rejected_at
from rejected
left join loaded
    on loaded.entity = rejected.entity
    and loaded.tenant_id = rejected.tenant_id
    and loaded.platform_id = rejected.platform_id
    and cast(loaded.dlt_load_id as double precision) > cast(rejected.dlt_load_id as double precision)
where loaded.platform_id is null  -- fixed and loaded since: no longer refused
