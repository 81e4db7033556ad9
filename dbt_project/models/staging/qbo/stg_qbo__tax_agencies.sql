{#- Tax agencies. Renamed and cast. -#}
{{ stg_qbo("tax_agency", extra=[
    ["display_name", "display_name", "varchar"],
    ["tax_tracked_on_sales", "tax_tracked_on_sales", "boolean"],
    ["tax_tracked_on_purchases", "tax_tracked_on_purchases", "boolean"],
]) }}
