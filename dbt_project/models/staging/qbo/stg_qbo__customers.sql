{#- Customers and their jobs (sub-customers). Renamed and cast; the mapped fields come from the mapping spec. -#}
{{ stg_qbo("customer", entity="Customer", extra=[
    ["fully_qualified_name", "fully_qualified_name", "varchar"],
    ["balance", "balance", "decimal(18,2)"],
    ["balance_with_jobs", "balance_with_jobs", "decimal(18,2)"],
    ["job", "job", "boolean"],
    ["level", "level", "bigint"],
    ["parent_ref__value", "parent_qbo_id", "varchar"],
    ["customer_type_ref__value", "customer_type_qbo_id", "varchar"],
    ["customer_type_ref__name", "customer_type_name", "varchar"],
    ["sales_term_ref__name", "terms_name", "varchar"],
    ["currency_ref__name", "currency_name", "varchar"],
]) }}
