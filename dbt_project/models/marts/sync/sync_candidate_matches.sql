{#- Unlinked platform records and unlinked QBO records that look like the same thing, scored by the
    spec's match keys (normalised name, e-mail, phone, ...), for a person to confirm. Pairs are found on
    the selective (`block`) keys, then scored on all of them; `is_best` marks pairs that are each
    other's best match; only pairs at or above the entity's threshold appear. -#}
with links as (
    select * from {{ ref("int_sync__links") }}
),

{%- for entity, e in mapping_spec().items() %}
{%- set t = e["table"] %}
{{ t }}_platform as (
    select p.*
    from {{ ref("int_sync__" ~ t ~ "_platform") }} as p
    left join links
        on links.entity = '{{ entity }}' and links.tenant_id = p.tenant_id and links.platform_id = p.platform_id
    where links.platform_id is null
),

{{ t }}_qbo as (
    select q.*
    from {{ ref("int_sync__" ~ t ~ "_qbo") }} as q
    left join links on links.entity = '{{ entity }}' and links.realm_id = q.realm_id and links.qbo_id = q.qbo_id
    where links.qbo_id is null
),

{{ t }}_pairs as (
    {%- for key in e["match"] if key["block"] %}
    select p.tenant_id, p.platform_id, q.realm_id, q.qbo_id
    from {{ t }}_platform as p
    inner join {{ t }}_qbo as q on q.realm_id = p.realm_id and q.n__{{ key["field"] }} = p.n__{{ key["field"] }}
    {{ "union" if not loop.last }}
    {%- endfor %}
),

{{ t }}_scored as (
    select
        '{{ entity }}' as entity,
        pairs.tenant_id,
        pairs.realm_id,
        pairs.platform_id,
        pairs.qbo_id,
        cast(
            {%- for key in e["match"] %}
            case when p.n__{{ key["field"] }} = q.n__{{ key["field"] }} then {{ key["weight"] }} else 0 end
            {{- " +" if not loop.last }}
            {%- endfor %}
        as decimal(4, 2)) as score,
        concat_ws(', '
            {%- for key in e["match"] | sort(attribute="field") %},
            case when p.n__{{ key["field"] }} = q.n__{{ key["field"] }} then '{{ key["field"] }}' end
            {%- endfor %}
        ) as matched_on,
        {{ e["match_threshold"] }} as threshold
    from {{ t }}_pairs as pairs
    inner join {{ t }}_platform as p on p.tenant_id = pairs.tenant_id and p.platform_id = pairs.platform_id
    inner join {{ t }}_qbo as q on q.realm_id = pairs.realm_id and q.qbo_id = pairs.qbo_id
),
{%- endfor %}

scored as (
    {%- for entity, e in mapping_spec().items() %}
    select * from {{ e["table"] }}_scored
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

ranked as (
    select
        scored.*,
        row_number() over (partition by entity, tenant_id, platform_id order by score desc, qbo_id) as rank_for_platform,
        row_number() over (partition by entity, realm_id, qbo_id order by score desc, platform_id) as rank_for_qbo
    from scored
    where score >= threshold
        and not exists (  -- a pair a person rejected is not proposed again
            select 1 from {{ ref("stg_review__decisions") }} as rejected
            where rejected.kind = 'reject_match' and rejected.entity = scored.entity
                and rejected.tenant_id = scored.tenant_id and rejected.platform_id = scored.platform_id
                and rejected.qbo_id = scored.qbo_id
        )
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
    'Confirm the match to link the records (`qbo review confirm` or the review console), or reject it' as what_to_do
from ranked
