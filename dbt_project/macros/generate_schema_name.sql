{#- Models go to the schema they name (staging, intermediate, sync, finance), not <target>_<name>:
    the default would make `raw_qbo_staging`-like names that collide with dlt's own (STACK_NOTES §7.10). -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name | trim if custom_schema_name else target.schema }}
{%- endmacro %}
