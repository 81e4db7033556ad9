{#- Sales tax codes. Renamed and cast. -#}
{{ stg_qbo("tax_code", extra=[
    ["name", "name", "varchar"],
    ["description", "description", "varchar"],
    ["active", "active", "boolean"],
    ["taxable", "taxable", "boolean"],
    ["tax_group", "tax_group", "boolean"],
]) }}
