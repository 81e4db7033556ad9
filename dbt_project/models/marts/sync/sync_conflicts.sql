{#- True conflicts: records changed in both systems since their last sync where mapped values differ
    (the seed's invoice rule, for every entity). A conflict stays open until the values agree or a sync
    records a new baseline; `qbo push` leaves these records alone. -#}
select
    entity,
    tenant_id,
    realm_id,
    platform_id,
    qbo_id,
    min(last_synced_at) as last_synced_at,
    max(platform_updated_at) as platform_updated_at,
    max(qbo_updated_at) as qbo_updated_at,
    string_agg(field, ', ' order by field) as fields,
    count(*) as field_count,
    'open' as status,
    'Both systems changed it since the last sync: compare the values in sync_drift, keep the right one in the system that masters it, correct the other' as what_to_do
from {{ ref("sync_drift") }}
where in_conflict
group by entity, tenant_id, realm_id, platform_id, qbo_id
