{#- Bank deposits. Renamed and cast. -#}
{{ stg_qbo("deposit", extra=[
    ["txn_date", "txn_date", "date"],
    ["total_amt", "total_amount", "decimal(18,2)"],
    ["private_note", "private_note", "varchar"],
    ["deposit_to_account_ref__value", "deposit_to_account_qbo_id", "varchar"],
    ["deposit_to_account_ref__name", "deposit_to_account_name", "varchar"],
    ["currency_ref__value", "currency", "varchar"],
    ["currency_ref__name", "currency_name", "varchar"],
]) }}
