{#- Transfers between accounts. Renamed and cast. -#}
{{ stg_qbo("transfer", extra=[
    ["txn_date", "txn_date", "date"],
    ["amount", "amount", "decimal(18,2)"],
    ["private_note", "private_note", "varchar"],
    ["from_account_ref__value", "from_account_qbo_id", "varchar"],
    ["from_account_ref__name", "from_account_name", "varchar"],
    ["to_account_ref__value", "to_account_qbo_id", "varchar"],
    ["to_account_ref__name", "to_account_name", "varchar"],
]) }}
