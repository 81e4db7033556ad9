{#- Budgets. Renamed and cast. -#}
{{ stg_qbo("budget", extra=[
    ["name", "name", "varchar"],
    ["start_date", "start_date", "date"],
    ["end_date", "end_date", "date"],
    ["budget_type", "budget_type", "varchar"],
    ["budget_entry_type", "budget_entry_type", "varchar"],
    ["active", "active", "boolean"],
]) }}
