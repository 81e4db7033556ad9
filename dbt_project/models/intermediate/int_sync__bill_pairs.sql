{#- Linked Bill records side by side: who changed since the last sync, which fields differ. -#}
{{ pairs("Bill") }}
