{#- What `qbo push` must send for vendors: creates, sparse updates, approvals-pending voids and deactivations. -#}
{{ outbound("Vendor") }}
