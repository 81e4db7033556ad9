{#- What `qbo push` must send for payments: creates, sparse updates, approvals-pending voids and deactivations. -#}
{{ outbound("Payment") }}
