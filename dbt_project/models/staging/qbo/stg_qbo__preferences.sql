{#- Company preferences: one row per realm. Renamed and cast. -#}
{{ stg_qbo("preferences", extra=[
    ["currency_prefs__multi_currency_enabled", "multi_currency_enabled", "boolean"],
    ["currency_prefs__home_currency__value", "home_currency", "varchar"],
    ["tax_prefs__using_sales_tax", "using_sales_tax", "boolean"],
    ["accounting_info_prefs__track_departments", "track_departments", "boolean"],
    ["accounting_info_prefs__class_tracking_per_txn", "class_tracking_per_txn", "boolean"],
    ["report_prefs__report_basis", "report_basis", "varchar"],
]) }}
