{#- Payment terms (Net 30, ...). Renamed and cast. -#}
{{ stg_qbo("term", extra=[
    ["name", "name", "varchar"],
    ["active", "active", "boolean"],
    ["type", "type", "varchar"],
    ["due_days", "due_days", "bigint"],
]) }}
