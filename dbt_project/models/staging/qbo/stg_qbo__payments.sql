{#- Customer payments. Renamed and cast; the mapped fields come from the mapping spec. -#}
{{ stg_qbo("payment", entity="Payment", extra=[
    ["unapplied_amt", "unapplied_amount", "decimal(18,2)"],
    ["private_note", "private_note", "varchar"],
    ["deposit_to_account_ref__value", "deposit_to_account_qbo_id", "varchar"],
]) }}
