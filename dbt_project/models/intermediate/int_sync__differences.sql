{#- Every mapped field that differs on a linked record, one row each, from every entity's pairs:
the values both sides show, when each side last changed, who changed since the last sync. -#}
{%- for entity, e in mapping_spec().items() %}
{%- set t = e["table"] %}
{%- for f in compared_fields(entity) %}
select
    '{{ entity }}' as entity,
    '{{ f["name"] }}' as field,
    tenant_id,
    realm_id,
    platform_id,
    qbo_id,
    sync_token,
    platform__{{ f["name"] }} as platform_value,
    qbo__{{ f["name"] }} as qbo_value,
    platform_updated_at,
    qbo_updated_at,
    last_synced_at,
    platform_changed,
    qbo_changed,
    {{ "coalesce(qbo_true__" ~ f["name"] ~ ", false)" if f["destructive"] == "void" else "false" }} as irreversible_in_qbo,
    '{{ f["destructive"] or "" }}' as destructive_operation
from {{ ref("int_sync__" ~ t ~ "_pairs") }}
where differs__{{ f["name"] }}
{{ "union all" if not loop.last }}
{%- endfor %}
{{ "union all" if not loop.last }}
{%- endfor %}
