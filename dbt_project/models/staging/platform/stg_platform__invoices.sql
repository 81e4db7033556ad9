{#- Platform invoices: renamed and cast; mapped fields from the spec. -#}
{{ stg_platform("invoice", "Invoice", extra=[["total_amount", "total_amount", "decimal(18,2)"]]) }}
