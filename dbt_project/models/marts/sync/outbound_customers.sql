{#- What `qbo push` must send for customers: creates, sparse updates, approvals-pending voids and deactivations. -#}
{{ outbound("Customer") }}
