{#- What `qbo push` must send for bills: creates, sparse updates, approvals-pending voids and deactivations. -#}
{{ outbound("Bill") }}
