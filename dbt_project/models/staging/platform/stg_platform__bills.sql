{#- Platform bills: renamed and cast; mapped fields from the spec. -#}
{{ stg_platform("bill", "Bill", extra=[["total_amount", "total_amount", "decimal(18,2)"]]) }}
