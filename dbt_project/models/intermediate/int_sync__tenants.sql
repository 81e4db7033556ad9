{#- Which tenant's records sync with which QBO company: every (tenant, realm) the platform data names. -#}
{% for entity, e in mapping_spec().items() %}
select distinct tenant_id, realm_id from {{ ref("stg_platform__" ~ plural(e["table"])) }}
{% if not loop.last %}union{% endif %}
{% endfor %}
