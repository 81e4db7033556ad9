{#- Invoices. Renamed and cast; the mapped fields come from the mapping spec. -#}
{{ stg_qbo("invoice", entity="Invoice", extra=[
    ["total_amt", "total_amount", "decimal(18,2)"],
    ["private_note", "private_note", "varchar"],
    ["sales_term_ref__value", "terms_qbo_id", "varchar"],
    ["sales_term_ref__name", "terms_name", "varchar"],
    ["class_ref__value", "class_qbo_id", "varchar"],
    ["class_ref__name", "class_name", "varchar"],
    ["department_ref__value", "department_qbo_id", "varchar"],
    ["department_ref__name", "department_name", "varchar"],
    ["email_status", "email_status", "varchar"],
    ["print_status", "print_status", "varchar"],
    ["customer_ref__name", "customer_name", "varchar"],
    ["currency_ref__name", "currency_name", "varchar"],
]) }}
