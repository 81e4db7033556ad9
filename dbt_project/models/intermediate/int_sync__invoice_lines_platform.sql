{#- Invoice lines on the platform side, keyed by record and line, fields normalised for comparison. -#}
{{ lines_side("Invoice", "platform") }}
