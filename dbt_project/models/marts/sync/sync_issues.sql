{#- Everything that stops a record from syncing, one row each, with what to do: open conflicts, links to
    QBO records that are deleted or missing, references not linked yet, records QBO would refuse
    (pre-flight), pushes QBO refused, platform records the contract refused, and numbers either system
    holds beyond what the warehouse or the models read (`value_out_of_range`, `value_rounded`). A QBO
    record's issue without a linked platform record names no platform_id: it is acknowledged by its QBO Id. -#}
with conflicts as (
    select
        entity, tenant_id, realm_id, platform_id, qbo_id,
        'conflict' as issue,
        'changed in both systems since the last sync: ' || fields as detail,
        what_to_do
    from {{ ref("sync_conflicts") }}
),

links as (
    select
        entity, tenant_id, realm_id, platform_id, qbo_id,
        status as issue,
        case status
            when 'linked_qbo_deleted' then 'the linked QBO record was deleted (or merged) in QBO'
            else 'the linked QBO Id is not in the warehouse for this realm'
        end as detail,
        case status
            when 'linked_qbo_deleted' then 'Re-link the platform record (see merged_into in QBO staging) or retire it'
            else 'Check the qboId the platform holds, or sync the realm (`qbo sync`)'
        end as what_to_do
    from {{ ref("sync_mappings") }}
    where status in ('linked_qbo_deleted', 'linked_qbo_missing')
),

outbound as (
    {%- for entity, e in mapping_spec().items() %}
    select
        entity, tenant_id, realm_id, platform_id, qbo_id,
        case when missing_references is not null then 'unlinked_reference' else 'preflight' end as issue,
        coalesce('references not in QBO yet: ' || missing_references, preflight_problems) as detail,
        case when missing_references is not null
             then 'Push (or link) the referenced records first; this one follows'
             else 'Correct the record in the platform: QBO would refuse it' end as what_to_do
    from {{ ref("outbound_" ~ plural(e["table"])) }}
    where missing_references is not null or preflight_problems is not null
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

refused_by_qbo as (
    select
        entity, tenant_id, realm_id, platform_id, qbo_id,
        case outcome when 'desynced' then 'desynced' else 'push_refused' end as issue,
        'QBO refused the last push (' || operation || '): ' || coalesce(error, '') as detail,
        case outcome
            when 'desynced' then 'The linked QBO record is gone: re-link the platform record or retire it'
            else 'Fix what QBO names in the platform (or in QBO); the next push sends the corrected record'
        end as what_to_do
    from {{ ref("int_sync__last_push") }}
    where outcome in ('invalid', 'desynced')
),

rejected as (
    select
        entity, tenant_id, cast(null as varchar) as realm_id, platform_id, cast(null as varchar) as qbo_id,
        'rejected' as issue,
        message || ' (' || read_from || ')' as detail,
        'Fix the fields named in the error and load the platform records again' as what_to_do
    from {{ ref("stg_platform__rejected") }}
),

values_out_of_range as (
    select entity, tenant_id, realm_id, platform_id, qbo_id, issue, detail, what_to_do
    from {{ ref("int_sync__values_out_of_range") }}
),

issues as (
    select * from conflicts
    union all select * from links
    union all select * from outbound
    union all select * from refused_by_qbo
    union all select * from rejected
    union all select * from values_out_of_range
)

select issues.*, {{ review_version("issues.detail", "null", "null") }} as version
from issues
where not exists (  -- acknowledged, and unchanged since
    select 1 from {{ ref("stg_review__decisions") }} as acknowledged
    where acknowledged.kind = 'acknowledge' and acknowledged.entity = issues.entity
        and acknowledged.tenant_id = issues.tenant_id
        and (acknowledged.platform_id = issues.platform_id
             or (issues.platform_id is null and acknowledged.platform_id is null
                 and acknowledged.qbo_id = issues.qbo_id and acknowledged.realm_id = issues.realm_id))
        and acknowledged.field = issues.issue
        and acknowledged.version = {{ review_version("issues.detail", "null", "null") }}
)
