{#- Classes (tracking categories). Renamed and cast. -#}
{{ stg_qbo("class", extra=[
    ["name", "name", "varchar"],
    ["fully_qualified_name", "fully_qualified_name", "varchar"],
    ["active", "active", "boolean"],
    ["sub_class", "sub_class", "boolean"],
    ["parent_ref__value", "parent_qbo_id", "varchar"],
    ["parent_ref__name", "parent_name", "varchar"],
]) }}
