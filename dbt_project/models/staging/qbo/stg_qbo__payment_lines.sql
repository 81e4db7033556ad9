{#- Payment lines: an amount applied to the transactions in stg_qbo__payment_line_linked_txns. -#}
{{ stg_child("qbo", "payment__line", spec_line_columns("Payment", "qbo")) }}
