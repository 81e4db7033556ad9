{#- Departments (locations). Renamed and cast. -#}
{{ stg_qbo("department", extra=[
    ["name", "name", "varchar"],
    ["fully_qualified_name", "fully_qualified_name", "varchar"],
    ["active", "active", "boolean"],
    ["sub_department", "sub_department", "boolean"],
]) }}
