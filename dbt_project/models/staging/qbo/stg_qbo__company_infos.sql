{#- The company itself: one row per realm. Renamed and cast. -#}
{{ stg_qbo("company_info", extra=[
    ["company_name", "company_name", "varchar"],
    ["legal_name", "legal_name", "varchar"],
    ["country", "country", "varchar"],
    ["company_start_date", "company_start_date", "date"],
    ["fiscal_year_start_month", "fiscal_year_start_month", "varchar"],
    ["email__address", "email", "varchar"],
    ["primary_phone__free_form_number", "phone", "varchar"],
]) }}
