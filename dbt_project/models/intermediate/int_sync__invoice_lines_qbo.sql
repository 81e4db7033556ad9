{#- Invoice lines on the qbo side, keyed by record and line, fields normalised for comparison. -#}
{{ lines_side("Invoice", "qbo") }}
