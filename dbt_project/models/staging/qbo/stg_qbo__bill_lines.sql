{#- Bill lines, account- and item-based: the mapped fields come from the spec. -#}
{{ stg_child("qbo", "bill__line", spec_line_columns("Bill", "qbo") + [
    ["id", "line_id", "varchar"],
    ["item_based_expense_line_detail__item_ref__value", "item_qbo_id", "varchar"],
    ["item_based_expense_line_detail__item_ref__name", "item_name", "varchar"],
    ["account_based_expense_line_detail__account_ref__name", "account_name", "varchar"],
    ["account_based_expense_line_detail__customer_ref__value", "billable_customer_qbo_id", "varchar"],
    ["account_based_expense_line_detail__customer_ref__name", "billable_customer_name", "varchar"],
]) }}
