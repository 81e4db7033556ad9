{#- Platform vendors as the DTO contract delivers them: renamed and cast; mapped fields from the spec. -#}
{{ stg_platform("vendor", "Vendor") }}
