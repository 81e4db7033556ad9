{#- What the platform should take from QBO: fields QBO masters that drifted (and voids done in QBO),
    each with the value to apply. Conflicts are not here: they wait for a person (sync_conflicts). -#}
select
    entity,
    tenant_id,
    realm_id,
    platform_id,
    qbo_id,
    field,
    qbo_value as new_value,
    platform_value as old_value,
    qbo_updated_at,
    master
from {{ ref("sync_drift") }}
where action = 'pull'
