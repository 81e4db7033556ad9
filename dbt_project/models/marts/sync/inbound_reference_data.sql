{#- The lists QBO masters and the platform mirrors (accounts, employees, terms, payment methods), with
    their state: the platform applies rows updated since it last read this model. -#}
{% set lists = [
    ("Account", "stg_qbo__accounts", "fully_qualified_name"),
    ("Employee", "stg_qbo__employees", "display_name"),
    ("Term", "stg_qbo__terms", "name"),
    ("PaymentMethod", "stg_qbo__payment_methods", "name"),
] %}
{% for entity, model, name in lists %}
select
    '{{ entity }}' as entity,
    realm_id,
    qbo_id,
    {{ name }} as name,
    active,
    is_deleted,
    case when is_deleted then 'delete' when not coalesce(active, true) then 'deactivate' else 'upsert' end as change,
    coalesce(deleted_at, updated_at) as changed_at
from {{ ref(model) }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
