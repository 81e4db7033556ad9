{#- Customer payments. Renamed and cast; the mapped fields come from the mapping spec. -#}
{{ stg_qbo("payment", entity="Payment", extra=[
    ["unapplied_amt", "unapplied_amount", "decimal(18,2)"],
    ["private_note", "private_note", "varchar"],
    ["deposit_to_account_ref__value", "deposit_to_account_qbo_id", "varchar"],
    ["deposit_to_account_ref__name", "deposit_to_account_name", "varchar"],
    ["customer_ref__name", "customer_name", "varchar"],
    ["payment_method_ref__name", "payment_method_name", "varchar"],
    ["currency_ref__name", "currency_name", "varchar"],
]) }}
