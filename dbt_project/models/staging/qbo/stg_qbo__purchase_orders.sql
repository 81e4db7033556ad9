{#- Purchase orders. Renamed and cast. -#}
{{ stg_qbo("purchase_order", extra=[
    ["doc_number", "doc_number", "varchar"],
    ["txn_date", "txn_date", "date"],
    ["po_status", "po_status", "varchar"],
    ["total_amt", "total_amount", "decimal(18,2)"],
    ["vendor_ref__value", "vendor_qbo_id", "varchar"],
    ["vendor_ref__name", "vendor_name", "varchar"],
    ["currency_ref__value", "currency", "varchar"],
    ["currency_ref__name", "currency_name", "varchar"],
]) }}
