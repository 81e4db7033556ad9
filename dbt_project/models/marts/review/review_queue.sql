{#- What the last transform leaves for a person to decide, one entry each, named the way a person knows
    the record: conflicts (both systems changed a field), drift (the mastering policy decides it; a
    person may decide otherwise), approvals (voids and deactivations), candidate matches to confirm or
    reject, and sync issues. `version` is what a decision must have seen (macros/review.sql).
    `qbo transform` publishes it to the integration store, where the console and `qbo review` read it. -#}
with names as (
    {%- for entity, e in mapping_spec().items() %}
    {%- set t = e["table"] %}
    {%- set party = {"Invoice": ("customer", "customers"), "Payment": ("customer", "customers"), "Bill": ("vendor", "vendors")}.get(entity) %}
    {%- for side in ("platform", "qbo") %}
    select
        '{{ entity }}' as entity,
        '{{ side }}' as side,
        {% if side == "platform" %}r.tenant_id{% else %}cast(null as varchar){% endif %} as tenant_id,
        r.realm_id,
        {% if side == "platform" %}r.platform_id{% else %}r.qbo_id{% endif %} as record_id,
        {%- if entity in ("Customer", "Vendor") %}
        r.display_name as label,
        {%- elif entity == "Item" %}
        r.name as label,
        {%- elif entity == "Payment" %}
        'Payment ' || coalesce(r.reference_number, cast(r.txn_date as varchar), r.{{ "platform_id" if side == "platform" else "qbo_id" }}) as label,
        {%- else %}
        '{{ entity }} ' || coalesce(r.doc_number, r.{{ "platform_id" if side == "platform" else "qbo_id" }}) as label,
        {%- endif %}
        {%- if party %}
        party.display_name as party,
        {%- else %}
        cast(null as varchar) as party,
        {%- endif %}
        {%- if entity in ("Invoice", "Bill", "Payment") %}
        cast(r.total_amount as decimal(18, 2)) as amount,
        {%- elif entity == "Customer" and side == "qbo" %}
        cast(r.balance as decimal(18, 2)) as amount,
        {%- else %}
        cast(null as decimal(18, 2)) as amount,
        {%- endif %}
        {{ "r.currency" if entity != "Item" else "cast(null as varchar)" }} as currency
    from {{ ref("stg_" ~ side ~ "__" ~ plural(t)) }} as r
    {%- if party %}
    left join {{ ref("stg_" ~ side ~ "__" ~ party[1]) }} as party
        {%- if side == "platform" %}
        on party.tenant_id = r.tenant_id and party.platform_id = r.{{ party[0] }}
        {%- else %}
        on party.realm_id = r.realm_id and party.qbo_id = r.{{ party[0] }}
        {%- endif %}
    {%- endif %}
    {%- if side == "qbo" %}
    where not r.is_deleted
    {%- endif %}
    {{ "union all" if not loop.last }}
    {%- endfor %}
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

platform_names as (select * from names where side = 'platform'),
qbo_names as (select * from names where side = 'qbo'),

drift as (
    select
        case when drift.action = 'review' then 'conflict' when drift.needs_approval then 'approval' else 'drift' end as queue,
        drift.tenant_id,
        drift.realm_id,
        drift.entity,
        drift.platform_id,
        drift.qbo_id,
        case when drift.needs_approval then drift.destructive_operation else drift.field end as field,
        case when drift.needs_approval then drift.destructive_operation else drift.action end as action,
        drift.platform_value,
        drift.qbo_value,
        greatest(drift.platform_updated_at, drift.qbo_updated_at) as changed_at,
        drift.version,
        {{ json_object_of([
            "'what_to_do'", "drift.what_to_do", "'changed_in'", "drift.changed_in", "'master'", "drift.master",
            "'drift_field'", "drift.field", "'resolved_by'", "drift.resolved_by",
        ]) }} as data
    from {{ ref("sync_drift") }} as drift
    where not (drift.needs_approval and exists (  -- a void or deactivation refused, and unchanged since
        select 1 from {{ ref("stg_review__decisions") }} as refused
        where refused.kind = 'reject' and refused.entity = drift.entity and refused.tenant_id = drift.tenant_id
            and refused.platform_id = drift.platform_id and refused.field = drift.destructive_operation
            and refused.version = drift.version
    ))
),

candidates as (
    select
        'candidate' as queue,
        c.tenant_id,
        c.realm_id,
        c.entity,
        c.platform_id,
        c.qbo_id,
        cast(null as varchar) as field,
        'confirm' as action,
        p.label as platform_value,
        q.label as qbo_value,
        cast(null as timestamptz) as changed_at,
        {{ review_version("c.platform_id", "c.qbo_id", "cast(c.score as varchar)") }} as version,
        {{ json_object_of(["'what_to_do'", "c.what_to_do", "'score'", "c.score", "'matched_on'", "c.matched_on"]) }} as data
    from {{ ref("sync_candidate_matches") }} as c
    left join platform_names as p
        on p.entity = c.entity and p.tenant_id = c.tenant_id and p.record_id = c.platform_id
    left join qbo_names as q on q.entity = c.entity and q.realm_id = c.realm_id and q.record_id = c.qbo_id
    where c.is_best
),

issues as (
    select
        'issue' as queue,
        i.tenant_id,
        i.realm_id,
        i.entity,
        i.platform_id,
        i.qbo_id,
        i.issue as field,
        i.issue as action,
        i.detail as platform_value,
        cast(null as varchar) as qbo_value,
        cast(null as timestamptz) as changed_at,
        i.version,
        {{ json_object_of(["'what_to_do'", "i.what_to_do"]) }} as data
    from {{ ref("sync_issues") }} as i
    where i.issue <> 'conflict'  -- the conflict queue has them, field by field
        and i.tenant_id is not null  -- a realm no tenant syncs with yet has no one to show it to
),

entries as (
    select * from drift
    union all select * from candidates
    union all select * from issues
)

select
    entries.queue,
    entries.tenant_id,
    entries.realm_id,
    entries.entity,
    entries.platform_id,
    entries.qbo_id,
    entries.field,
    entries.action,
    coalesce(q.label, p.label, entries.entity || ' ' || coalesce(entries.platform_id, entries.qbo_id)) as label,
    coalesce(q.party, p.party) as party,
    coalesce(q.amount, p.amount) as amount,
    coalesce(q.currency, p.currency, 'USD') as currency,
    entries.changed_at,
    entries.platform_value,
    entries.qbo_value,
    entries.version,
    cast(entries.data as varchar) as data
from entries
left join platform_names as p
    on p.entity = entries.entity and p.tenant_id = entries.tenant_id and p.record_id = entries.platform_id
left join qbo_names as q
    on q.entity = entries.entity and q.realm_id = entries.realm_id and q.record_id = entries.qbo_id
