{#- Customer types. Renamed and cast. -#}
{{ stg_qbo("customer_type", extra=[
    ["name", "name", "varchar"],
    ["active", "active", "boolean"],
]) }}
