{#- Credits from vendors. Renamed and cast. -#}
{{ stg_qbo("vendor_credit", extra=[
    ["doc_number", "doc_number", "varchar"],
    ["txn_date", "txn_date", "date"],
    ["total_amt", "total_amount", "decimal(18,2)"],
    ["balance", "balance", "decimal(18,2)"],
    ["private_note", "private_note", "varchar"],
    ["vendor_ref__value", "vendor_qbo_id", "varchar"],
    ["vendor_ref__name", "vendor_name", "varchar"],
    ["currency_ref__value", "currency", "varchar"],
    ["currency_ref__name", "currency_name", "varchar"],
]) }}
