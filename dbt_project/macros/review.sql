{#- The version of a review entry: what a person saw when deciding (both values and QBO's SyncToken).
    A decision applies only while its entry keeps this version: a record that changed since is
    decided again (pipelines/store/review.py refuses the stale decision at once). -#}
{% macro review_version(platform_value, qbo_value, sync_token) -%}
    substr(md5(coalesce(cast({{ platform_value }} as varchar), '<null>') || '|'
        || coalesce(cast({{ qbo_value }} as varchar), '<null>') || '|'
        || coalesce(cast({{ sync_token }} as varchar), '')), 1, 16)
{%- endmacro %}

{#- Whether a value shown by one side is the one a person chose: as numbers when both are, else as text. -#}
{% macro same_value(shown, entered) -%}
    coalesce(
        {{ safe_decimal(shown, 38, 6) }} = {{ safe_decimal(entered, 38, 6) }},
        trim(cast({{ shown }} as varchar)) = trim({{ entered }}),
        {{ shown }} is null and {{ entered }} is null
    )
{%- endmacro %}
