{#- Payment methods. Renamed and cast. -#}
{{ stg_qbo("payment_method", extra=[
    ["name", "name", "varchar"],
    ["active", "active", "boolean"],
    ["type", "type", "varchar"],
]) }}
