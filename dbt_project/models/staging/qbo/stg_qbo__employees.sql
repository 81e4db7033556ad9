{#- Employees (QBO masters them; the platform reads them from inbound_reference_data). Renamed and cast. -#}
{{ stg_qbo("employee", extra=[
    ["display_name", "display_name", "varchar"],
    ["given_name", "given_name", "varchar"],
    ["family_name", "family_name", "varchar"],
    ["active", "active", "boolean"],
    ["employee_number", "employee_number", "varchar"],
    ["primary_email_addr__address", "email", "varchar"],
    ["primary_phone__free_form_number", "phone", "varchar"],
    ["hired_date", "hired_date", "date"],
    ["released_date", "released_date", "date"],
    ["billable_time", "billable_time", "boolean"],
    ["bill_rate", "bill_rate", "decimal(18,6)"],
]) }}
