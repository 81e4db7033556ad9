{#- Reading the mapping spec (macros/generated/mapping_spec.sql, rendered from pipelines/mapping/spec.yml). -#}

{#- [raw column, alias, type] of an entity's mapped fields, for its staging on one side.
    The alias is the spec's field name; a composite QBO field keeps each part under its own name. -#}
{% macro spec_columns(entity, side) -%}
    {%- set columns = [] -%}
    {%- for f in mapping_spec()[entity]["fields"] -%}
        {%- if side == "platform" -%}
            {%- do columns.append([f["platform_column"], f["name"], f["sql_type"]]) -%}
        {%- elif f["qbo_columns"] | length == 1 -%}
            {%- do columns.append([f["qbo_columns"][0], f["name"], qbo_raw_type(f)]) -%}
        {%- else -%}
            {%- for column in f["qbo_columns"] -%}{%- do columns.append([column, column, "varchar"]) -%}{%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(columns) }}
{%- endmacro %}

{#- The same for an entity's line array; the line key comes first, as `line_key`. -#}
{% macro spec_line_columns(entity, side) -%}
    {%- set lines = mapping_spec()[entity]["lines"] -%}
    {%- set columns = [] -%}
    {%- if side == "platform" -%}
        {%- do columns.append([lines["key"]["platform_column"], "line_key", "varchar"]) -%}
    {%- elif "__" not in lines["key"]["qbo_column"] -%}
        {%- do columns.append([lines["key"]["qbo_column"], "line_key", "varchar"]) -%}
    {%- endif -%}
    {%- for column in lines["qbo_where"] if side == "qbo" and "__" not in column -%}
        {%- do columns.append([column, column, "varchar"]) -%}
    {%- endfor -%}
    {%- for f in lines["fields"] -%}
        {%- if side == "platform" -%}
            {%- do columns.append([f["platform_column"], f["name"], f["sql_type"]]) -%}
        {%- else -%}
            {%- do columns.append([f["qbo_columns"][0], f["name"], qbo_raw_type(f)]) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(columns) }}
{%- endmacro %}

{#- QBO stores enum-mapped fields as codes (TAX / NON), lookups and links as ids: text until compared. -#}
{% macro qbo_raw_type(f) -%}
    {{ return("varchar" if f["enum"] or f["lookup_table"] or f["link"] else f["sql_type"]) }}
{%- endmacro %}

{#- How a value compares under a rule: the same expression on both sides, so equal means equal. -#}
{% macro normalised(rule, expr) -%}
    {%- if rule == "text" -%}
        nullif(lower(trim(regexp_replace({{ expr }}, '\s+', ' ', 'g'))), '')
    {%- elif rule == "name" -%}
        {#- QBO renames a deleted (deactivated) name-list record "X (deleted)" -#}
        nullif(lower(regexp_replace(trim(regexp_replace({{ expr }}, '\s+', ' ', 'g')), ' \(deleted\)$', '')), '')
    {%- elif rule == "code" -%}
        nullif(upper(regexp_replace({{ expr }}, '\s+', '', 'g')), '')
    {%- elif rule == "email" -%}
        nullif(lower(trim({{ expr }})), '')
    {%- elif rule == "phone" -%}
        nullif(regexp_replace(regexp_replace({{ expr }}, '[^0-9]', '', 'g'), '^1([0-9]{10})$', '\1'), '')
    {%- elif rule == "money" -%}
        {#- no amount is no money: QBO writes 0 where the platform leaves it out -#}
        {#- out of range compares as no money too: sync_issues names it (macros/out_of_range.sql) -#}
        {#- zeros written 0.00: PostgreSQL shows a bare 0 as "0", and line signatures hold the text -#}
        coalesce({{ safe_decimal("round(" ~ safe_decimal(expr, 38, 4) ~ ", 2)", 18, 2) }}, 0.00)
    {%- elif rule == "number" -%}
        coalesce({{ safe_decimal("round(" ~ safe_decimal(expr, 38, 6) ~ ", 4)", 18, 4) }}, 0.0000)
    {%- elif rule == "date" -%}
        cast({{ expr }} as date)
    {%- elif rule == "bool" -%}
        coalesce(cast({{ expr }} as boolean), false)
    {%- else -%}
        nullif(trim(cast({{ expr }} as varchar)), '')
    {%- endif -%}
{%- endmacro %}

{#- A value as text, for people to read next to the other side's. -#}
{% macro shown(expr) -%}
    cast({{ expr }} as varchar)
{%- endmacro %}

{#- Plural model names: stg_qbo__customers, stg_platform__invoice_lines. -#}
{% macro plural(table) -%}
    {{ return(table ~ "es" if table.endswith("s") or table.endswith("x") else (table[:-1] ~ "ies" if table.endswith("y") else table ~ "s")) }}
{%- endmacro %}
