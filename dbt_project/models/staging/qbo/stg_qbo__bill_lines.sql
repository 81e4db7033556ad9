{#- Bill lines, account- and item-based: the mapped fields come from the spec. -#}
{{ stg_child("qbo", "bill__line", spec_line_columns("Bill", "qbo") + [
    ["id", "line_id", "varchar"],
    ["item_based_expense_line_detail__item_ref__value", "item_qbo_id", "varchar"],
]) }}
