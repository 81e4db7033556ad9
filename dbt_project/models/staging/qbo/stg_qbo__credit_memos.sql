{#- Credit memos issued to customers. Renamed and cast. -#}
{{ stg_qbo("credit_memo", extra=[
    ["doc_number", "doc_number", "varchar"],
    ["txn_date", "txn_date", "date"],
    ["total_amt", "total_amount", "decimal(18,2)"],
    ["balance", "balance", "decimal(18,2)"],
    ["remaining_credit", "remaining_credit", "decimal(18,2)"],
    ["private_note", "private_note", "varchar"],
    ["customer_ref__value", "customer_qbo_id", "varchar"],
    ["customer_ref__name", "customer_name", "varchar"],
    ["currency_ref__value", "currency", "varchar"],
    ["currency_ref__name", "currency_name", "varchar"],
]) }}
