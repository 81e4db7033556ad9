{#- What `qbo push` must send for items: creates, sparse updates, approvals-pending voids and deactivations. -#}
{{ outbound("Item") }}
