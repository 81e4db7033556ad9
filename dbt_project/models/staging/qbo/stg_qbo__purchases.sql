{#- Expenses paid by cash, check or card. Renamed and cast. -#}
{{ stg_qbo("purchase", extra=[
    ["doc_number", "doc_number", "varchar"],
    ["txn_date", "txn_date", "date"],
    ["payment_type", "payment_type", "varchar"],
    ["credit", "credit", "boolean"],
    ["total_amt", "total_amount", "decimal(18,2)"],
    ["account_ref__value", "account_qbo_id", "varchar"],
    ["account_ref__name", "account_name", "varchar"],
    ["entity_ref__value", "payee_qbo_id", "varchar"],
    ["entity_ref__name", "payee_name", "varchar"],
    ["entity_ref__type", "payee_type", "varchar"],
    ["currency_ref__value", "currency", "varchar"],
    ["currency_ref__name", "currency_name", "varchar"],
]) }}
