{#- Estimates (quotes). Renamed and cast. -#}
{{ stg_qbo("estimate", extra=[
    ["doc_number", "doc_number", "varchar"],
    ["txn_date", "txn_date", "date"],
    ["expiration_date", "expiration_date", "date"],
    ["txn_status", "txn_status", "varchar"],
    ["total_amt", "total_amount", "decimal(18,2)"],
    ["customer_ref__value", "customer_qbo_id", "varchar"],
    ["customer_ref__name", "customer_name", "varchar"],
    ["currency_ref__value", "currency", "varchar"],
    ["currency_ref__name", "currency_name", "varchar"],
]) }}
