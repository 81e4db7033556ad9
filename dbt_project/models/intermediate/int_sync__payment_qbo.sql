{#- Payment records on the qbo side, every mapped field shown (v__) and normalised for comparison (n__). -#}
{{ compare_side("Payment", "qbo") }}
