{#- Invoice lines, every kind (item, discount, subtotal): the mapped fields come from the spec. -#}
{{ stg_child("qbo", "invoice__line", spec_line_columns("Invoice", "qbo") + [
    ["id", "line_id", "varchar"],
    ["sales_item_line_detail__item_ref__name", "item_name", "varchar"],
]) }}
