{#- Time worked, by employee and customer. Renamed and cast. -#}
{{ stg_qbo("time_activity", extra=[
    ["txn_date", "txn_date", "date"],
    ["name_of", "name_of", "varchar"],
    ["hours", "hours", "bigint"],
    ["minutes", "minutes", "bigint"],
    ["hourly_rate", "hourly_rate", "decimal(18,6)"],
    ["billable_status", "billable_status", "varchar"],
    ["description", "description", "varchar"],
    ["employee_ref__value", "employee_qbo_id", "varchar"],
    ["employee_ref__name", "employee_name", "varchar"],
    ["customer_ref__value", "customer_qbo_id", "varchar"],
    ["customer_ref__name", "customer_name", "varchar"],
    ["item_ref__value", "item_qbo_id", "varchar"],
    ["item_ref__name", "item_name", "varchar"],
]) }}
