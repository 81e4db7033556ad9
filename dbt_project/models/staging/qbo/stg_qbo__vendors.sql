{#- Vendors. Renamed and cast; the mapped fields come from the mapping spec. -#}
{{ stg_qbo("vendor", entity="Vendor", extra=[
    ["balance", "balance", "decimal(18,2)"],
    ["print_on_check_name", "print_on_check_name", "varchar"],
    ["term_ref__name", "terms_name", "varchar"],
    ["currency_ref__name", "currency_name", "varchar"],
]) }}
