{#- Sales tax rates. Renamed and cast. -#}
{{ stg_qbo("tax_rate", extra=[
    ["name", "name", "varchar"],
    ["description", "description", "varchar"],
    ["active", "active", "boolean"],
    ["rate_value", "rate_value", "decimal(18,6)"],
    ["agency_ref__value", "agency_qbo_id", "varchar"],
]) }}
