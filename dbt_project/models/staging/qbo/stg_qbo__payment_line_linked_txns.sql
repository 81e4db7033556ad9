{#- What each payment line pays: an invoice (or a credit memo, ...) by its QBO Id. -#}
{{ stg_child("qbo", "payment__line__linked_txn", [
    ["txn_id", "txn_id", "varchar"],
    ["txn_type", "txn_type", "varchar"],
]) }}
