{#- The lines of the outbound bills that carry lines, in QBO terms. -#}
{{ outbound_lines("Bill") }}
