{#- True conflicts: records changed in both systems since their last sync where mapped values differ
    (the seed's invoice rule, for every entity), and updates QBO refused as stale because an accountant
    changed a platform-mastered field meanwhile (the push log's `conflict`). A conflict stays open until
    the values agree or a sync records a new baseline; `qbo push` leaves these records alone. -#}
with both_changed as (
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
    'Both systems changed it since the last sync: decide which value is right, field by field (`qbo review`, or the review console of `qbo serve`)' as what_to_do
from {{ ref("sync_drift") }}
where in_conflict
group by entity, tenant_id, realm_id, platform_id, qbo_id
),

refused_as_stale as (
    select
        drift.entity,
        drift.tenant_id,
        drift.realm_id,
        drift.platform_id,
        drift.qbo_id,
        min(drift.last_synced_at) as last_synced_at,
        max(drift.platform_updated_at) as platform_updated_at,
        max(drift.qbo_updated_at) as qbo_updated_at,
        string_agg(drift.field, ', ' order by drift.field) as fields,
        count(*) as field_count,
        'open' as status,
        'QBO changed a field the platform masters while the push was on its way: decide which value is right, correct the other system' as what_to_do
    from {{ ref("sync_drift") }} as drift
    inner join {{ ref("int_sync__last_push") }} as pushed
        on pushed.entity = drift.entity and pushed.tenant_id = drift.tenant_id
        and pushed.platform_id = drift.platform_id
    where pushed.outcome = 'conflict' and not drift.in_conflict
    group by drift.entity, drift.tenant_id, drift.realm_id, drift.platform_id, drift.qbo_id
)

select * from both_changed
union all
select * from refused_as_stale
where not exists (
    select 1 from both_changed
    where both_changed.entity = refused_as_stale.entity and both_changed.tenant_id = refused_as_stale.tenant_id
        and both_changed.platform_id = refused_as_stale.platform_id
)
