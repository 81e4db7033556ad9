{#- Where DuckDB and PostgreSQL speak differently, a macro dispatched on the adapter
    (adapter.dispatch('name', 'qbo_elt')): models and the other macros call these and stay one copy.
    `default__` is DuckDB's (the embedded warehouse), `postgres__` PostgreSQL's. -#}

{#- `expr` as decimal(precision, scale), or null when it is no number or does not fit. -#}
{% macro safe_decimal(expr, precision, scale) -%}
    {{ return(adapter.dispatch('safe_decimal', 'qbo_elt')(expr, precision, scale)) }}
{%- endmacro %}

{% macro default__safe_decimal(expr, precision, scale) -%}
    try_cast({{ expr }} as decimal({{ precision }}, {{ scale }}))
{%- endmacro %}

{#- PostgreSQL has no try_cast: the value as text must read as a number (NaN and Infinity do not), and
    rounded to `scale` places it must be below 10^(precision - scale), or the cast would fail. -#}
{% macro postgres__safe_decimal(expr, precision, scale) -%}
    {%- set text = "cast(" ~ expr ~ " as text)" -%}
    (case when {{ text }} ~ '^\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,4})?\s*$'
        and abs(round(cast({{ text }} as numeric), {{ scale }})) < 1e{{ precision - scale }}
        then cast(cast({{ text }} as numeric) as decimal({{ precision }}, {{ scale }})) end)
{%- endmacro %}

{#- A JSON object of key, value pairs (`pairs` a flat list: key, value, key, value ...). PostgreSQL's
    is text, as DuckDB's JSON reaches Python: readers parse it the same on both. -#}
{% macro json_object_of(pairs) -%}
    {{ return(adapter.dispatch('json_object_of', 'qbo_elt')(pairs)) }}
{%- endmacro %}

{% macro default__json_object_of(pairs) -%}
    json_object({{ pairs | join(", ") }})
{%- endmacro %}

{% macro postgres__json_object_of(pairs) -%}
    cast(json_build_object({{ pairs | join(", ") }}) as text)
{%- endmacro %}

{#- Run before each model (dbt_project.yml's pre-hook). PostgreSQL cannot estimate how many rows a
    grouped view gives (the staging views cast their columns) and then joins two keys by merging on the
    first alone, or nests loops: a mart of four 165,000-record companies took over 18 minutes that way,
    and 7 seconds with hash joins. Inside the model's transaction only (`set local`). DuckDB: nothing. -#}
{% macro planner_settings() -%}
    {{ return(adapter.dispatch('planner_settings', 'qbo_elt')()) }}
{%- endmacro %}

{% macro default__planner_settings() -%}{%- endmacro %}

{% macro postgres__planner_settings() -%}
    set local enable_mergejoin = off; set local enable_nestloop = off
{%- endmacro %}
