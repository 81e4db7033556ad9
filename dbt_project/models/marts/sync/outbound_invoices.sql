{#- What `qbo push` must send for invoices: creates, sparse updates, approvals-pending voids and deactivations. -#}
{{ outbound("Invoice") }}
