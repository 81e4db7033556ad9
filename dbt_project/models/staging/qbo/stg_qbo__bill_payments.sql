{#- Payments of vendor bills. Renamed and cast. -#}
{{ stg_qbo("bill_payment", extra=[
    ["doc_number", "doc_number", "varchar"],
    ["txn_date", "txn_date", "date"],
    ["total_amt", "total_amount", "decimal(18,2)"],
    ["pay_type", "pay_type", "varchar"],
    ["vendor_ref__value", "vendor_qbo_id", "varchar"],
    ["vendor_ref__name", "vendor_name", "varchar"],
    ["ap_account_ref__value", "ap_account_qbo_id", "varchar"],
    ["ap_account_ref__name", "ap_account_name", "varchar"],
    ["currency_ref__value", "currency", "varchar"],
    ["currency_ref__name", "currency_name", "varchar"],
]) }}
