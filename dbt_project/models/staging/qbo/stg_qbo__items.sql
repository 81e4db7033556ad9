{#- Products and services. Renamed and cast; the mapped fields come from the mapping spec. -#}
{{ stg_qbo("item", entity="Item", extra=[
    ["fully_qualified_name", "fully_qualified_name", "varchar"],
    ["track_qty_on_hand", "track_qty_on_hand", "boolean"],
    ["qty_on_hand", "qty_on_hand", "decimal(18,6)"],
    ["expense_account_ref__value", "expense_account_qbo_id", "varchar"],
    ["expense_account_ref__name", "expense_account_name", "varchar"],
    ["asset_account_ref__value", "asset_account_qbo_id", "varchar"],
    ["asset_account_ref__name", "asset_account_name", "varchar"],
    ["parent_ref__value", "parent_qbo_id", "varchar"],
    ["parent_ref__name", "parent_name", "varchar"],
    ["sub_item", "sub_item", "boolean"],
    ["income_account_ref__name", "income_account_name", "varchar"],
]) }}
