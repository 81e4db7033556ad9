{#- Unlinked platform records and unlinked QBO records that look like the same thing, scored by the
    spec's match keys (normalised name, e-mail, phone, ...), for a person to confirm. `is_best` marks
    pairs that are each other's best match; only pairs at or above the entity's threshold appear. -#}
with links as (
    select * from {{ ref("int_sync__links") }}
),

hits as (
    {%- for entity, e in mapping_spec().items() %}
    {%- set t = e["table"] %}
    {%- for key in e["match"] %}
    select
        '{{ entity }}' as entity,
        p.tenant_id,
        p.realm_id,
        p.platform_id,
        q.qbo_id,
        '{{ key["field"] }}' as matched_on,
        {{ key["weight"] }} as weight,
        {{ e["match_threshold"] }} as threshold
    from {{ ref("int_sync__" ~ t ~ "_platform") }} as p
    inner join {{ ref("int_sync__" ~ t ~ "_qbo") }} as q
        on q.realm_id = p.realm_id and q.n__{{ key["field"] }} = p.n__{{ key["field"] }}
    where not exists (
            select 1 from links
            where links.entity = '{{ entity }}' and links.tenant_id = p.tenant_id and links.platform_id = p.platform_id
        )
        and not exists (
            select 1 from links
            where links.entity = '{{ entity }}' and links.realm_id = q.realm_id and links.qbo_id = q.qbo_id
        )
    {{ "union all" if not loop.last }}
    {%- endfor %}
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

scored as (
    select
        entity,
        tenant_id,
        realm_id,
        platform_id,
        qbo_id,
        cast(sum(weight) as decimal(4, 2)) as score,
        string_agg(matched_on, ', ' order by matched_on) as matched_on,
        max(threshold) as threshold
    from hits
    group by entity, tenant_id, realm_id, platform_id, qbo_id
),

ranked as (
    select
        scored.*,
        row_number() over (partition by entity, tenant_id, platform_id order by score desc, qbo_id) as rank_for_platform,
        row_number() over (partition by entity, realm_id, qbo_id order by score desc, platform_id) as rank_for_qbo
    from scored
    where score >= threshold
)

select
    entity,
    tenant_id,
    realm_id,
    platform_id,
    qbo_id,
    score,
    matched_on,
    rank_for_platform = 1 and rank_for_qbo = 1 as is_best,
    'Confirm the match to link the records (the platform stores qboId), or create the platform record in QBO' as what_to_do
from ranked
