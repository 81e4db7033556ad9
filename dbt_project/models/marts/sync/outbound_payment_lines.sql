{#- The lines of the outbound payments that carry lines, in QBO terms. -#}
{{ outbound_lines("Payment") }}
