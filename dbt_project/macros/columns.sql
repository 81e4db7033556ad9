{#- Staging reads raw tables whose columns depend on the data: dlt makes a column only once a value
    arrives, and a table only once a row does. `select_columns` selects the columns asked for, cast to
    their types, with typed NULLs for those the table lacks, and no rows when the table is missing, so
    staging compiles for any company, empty ones included (what fivetran_utils.fill_staging_columns
    does, without the package). `columns` is a list of [raw column, alias, type]. A bounded decimal
    that does not fit is null (macros/out_of_range.sql); `out_of_range` adds the column naming them.
    The columns come from the database, never from dbt's relation cache: dbt fills the cache with a
    schema's tables one at a time while its other threads read it, so a model compiled meanwhile found
    a raw table missing and staged no rows (on a loaded machine, now and then: every invoice's lines
    drifted, and a push sent invoices without lines). A table without columns does not exist. -#}
{% macro select_columns(relation, columns, out_of_range=false) -%}
    {%- set existing = [] -%}
    {%- if execute -%}
        {%- set listed = run_query(
            "select column_name from information_schema.columns where table_schema = '"
            ~ relation.schema | replace("'", "''") ~ "' and table_name = '"
            ~ relation.identifier | replace("'", "''") ~ "'"
        ) -%}
        {%- for name in listed.columns[0].values() -%}
            {%- do existing.append(name | lower) -%}
        {%- endfor -%}
    {%- endif %}
    {%- set found = existing | length > 0 %}
    select
    {%- for column, alias, type in columns %}
        {% if column in existing -%}
            {{ cast_column(adapter.quote(column), type) }}
        {%- else -%}
            cast(null as {{ type }})
        {%- endif %} as {{ alias }}{{ "," if not loop.last or out_of_range }}
    {%- endfor %}
    {%- if out_of_range %}
        {{ out_of_range_check(columns, existing) }} as out_of_range
    {%- endif %}
    from {% if found %}{{ relation }}{% else %}(select 1 as no_rows) as missing where 1 = 0{% endif %}
{%- endmacro %}

{#- The columns every QBO entity table has: keys, SyncToken, times in UTC, the delete marks, and the
    numbers the sync loaded rounded (`_extreme_values`, when it had to). -#}
{% macro qbo_key_columns() -%}
    {{ return([
        ["realm_id", "realm_id", "varchar"],
        ["id", "qbo_id", "varchar"],
        ["sync_token", "sync_token", "varchar"],
        ["meta_data__create_time", "created_at", "timestamptz"],
        ["meta_data__last_updated_time", "updated_at", "timestamptz"],
        ["_deleted", "is_deleted", "boolean"],
        ["_deleted_at", "deleted_at", "timestamptz"],
        ["_merged_into", "merged_into_qbo_id", "varchar"],
        ["_extreme_values", "extreme_values", "varchar"],
        ["_dlt_load_id", "dlt_load_id", "varchar"],
        ["_dlt_id", "dlt_id", "varchar"],
    ]) }}
{%- endmacro %}

{#- The columns of a child (array) table: its parent row and its place in the array. -#}
{% macro child_key_columns() -%}
    {{ return([
        ["realm_id", "realm_id", "varchar"],
        ["_dlt_parent_id", "parent_dlt_id", "varchar"],
        ["_dlt_list_idx", "position", "bigint"],
        ["_dlt_id", "dlt_id", "varchar"],
    ]) }}
{%- endmacro %}

{#- A QBO entity's staging: its key columns, the mapped fields the spec names, and `extra` columns;
    timestamps in UTC, deleted records kept (flagged) for audit. -#}
{% macro stg_qbo(table, entity=none, extra=[]) -%}
    {{ stg_entity(source("qbo", table), qbo_key_columns() + (spec_columns(entity, "qbo") if entity else []), extra) }}
{%- endmacro %}

{#- A platform entity's staging: keys, the spec's mapped fields, and `extra` columns. -#}
{% macro stg_platform(table, entity, extra=[]) -%}
    {{ stg_entity(source("platform", table), platform_key_columns() + spec_columns(entity, "platform"), extra) }}
{%- endmacro %}

{#- Select `columns` (then the `extra` ones not among them), timestamps as UTC, which values were out
    of range (`out_of_range`), the load time. -#}
{% macro stg_entity(relation, columns, extra) -%}
    {%- set names = columns | map(attribute=1) | list -%}
    {%- for column in extra if column[1] not in names -%}{%- do columns.append(column) -%}{%- endfor -%}
with source as (
    {{ select_columns(relation, columns, out_of_range=true) }}
)

select
    {% for column in columns -%}
    {% if column[2] == "timestamptz" -%}
    {{ utc(column[1]) }} as {{ column[1] }},
    {%- elif column[1] == "is_deleted" -%}
    coalesce(is_deleted, false) as is_deleted,
    {%- else -%}
    {{ column[1] }},
    {%- endif %}
    {% endfor -%}
    out_of_range,
    to_timestamp(cast(dlt_load_id as double precision)) as loaded_at
from source
{%- endmacro %}

{#- A child table's staging: the keys that join it to its parent, and the columns asked for. -#}
{% macro stg_child(source_name, table, columns) -%}
with source as (
    {{ select_columns(source(source_name, table), child_key_columns() + columns, out_of_range=true) }}
)

select * from source
{%- endmacro %}

{#- A timestamp with time zone as a UTC timestamp (DuckDB and PostgreSQL both read AT TIME ZONE). -#}
{% macro utc(column) -%}
    ({{ column }} at time zone 'UTC')
{%- endmacro %}

{#- The columns every platform record has: identity, tenancy, its QBO link and the sync times. -#}
{% macro platform_key_columns() -%}
    {{ return([
        ["tenant_id", "tenant_id", "varchar"],
        ["realm_id", "realm_id", "varchar"],
        ["id", "platform_id", "varchar"],
        ["qbo_id", "qbo_id", "varchar"],
        ["qbo_sync_token", "qbo_sync_token", "varchar"],
        ["last_synced_at", "last_synced_at", "timestamptz"],
        ["created_at", "created_at", "timestamptz"],
        ["updated_at", "updated_at", "timestamptz"],
        ["_dlt_load_id", "dlt_load_id", "varchar"],
        ["_dlt_id", "dlt_id", "varchar"],
    ]) }}
{%- endmacro %}
