{#- Sales paid on the spot. Renamed and cast. -#}
{{ stg_qbo("sales_receipt", extra=[
    ["doc_number", "doc_number", "varchar"],
    ["txn_date", "txn_date", "date"],
    ["total_amt", "total_amount", "decimal(18,2)"],
    ["balance", "balance", "decimal(18,2)"],
    ["customer_ref__value", "customer_qbo_id", "varchar"],
    ["customer_ref__name", "customer_name", "varchar"],
    ["deposit_to_account_ref__value", "deposit_to_account_qbo_id", "varchar"],
    ["deposit_to_account_ref__name", "deposit_to_account_name", "varchar"],
    ["currency_ref__value", "currency", "varchar"],
    ["currency_ref__name", "currency_name", "varchar"],
]) }}
