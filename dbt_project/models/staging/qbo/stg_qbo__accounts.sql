{#- The chart of accounts (QBO masters it; the platform reads it from inbound_reference_data). Renamed and cast. -#}
{{ stg_qbo("account", extra=[
    ["name", "name", "varchar"],
    ["fully_qualified_name", "fully_qualified_name", "varchar"],
    ["active", "active", "boolean"],
    ["classification", "classification", "varchar"],
    ["account_type", "account_type", "varchar"],
    ["account_sub_type", "account_sub_type", "varchar"],
    ["current_balance", "current_balance", "decimal(18,2)"],
    ["current_balance_with_sub_accounts", "current_balance_with_sub_accounts", "decimal(18,2)"],
    ["parent_ref__value", "parent_qbo_id", "varchar"],
    ["currency_ref__value", "currency", "varchar"],
    ["currency_ref__name", "currency_name", "varchar"],
]) }}
