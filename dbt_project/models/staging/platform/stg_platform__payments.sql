{#- Platform payments: renamed and cast; mapped fields from the spec. -#}
{{ stg_platform("payment", "Payment") }}
