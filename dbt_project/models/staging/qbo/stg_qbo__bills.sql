{#- Vendor bills. Renamed and cast; the mapped fields come from the mapping spec. -#}
{{ stg_qbo("bill", entity="Bill", extra=[
    ["total_amt", "total_amount", "decimal(18,2)"],
    ["ap_account_ref__value", "ap_account_qbo_id", "varchar"],
    ["ap_account_ref__name", "ap_account_name", "varchar"],
    ["sales_term_ref__value", "terms_qbo_id", "varchar"],
    ["sales_term_ref__name", "terms_name", "varchar"],
    ["department_ref__value", "department_qbo_id", "varchar"],
    ["department_ref__name", "department_name", "varchar"],
    ["vendor_ref__name", "vendor_name", "varchar"],
    ["currency_ref__name", "currency_name", "varchar"],
]) }}
