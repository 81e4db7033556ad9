{#- The lines of the outbound invoices that carry lines, in QBO terms. -#}
{{ outbound_lines("Invoice") }}
