{#- What each platform payment pays: invoice (platform id) and amount. -#}
{{ stg_child("platform", mapping_spec()["Payment"]["lines"]["platform_table"], [["tenant_id", "tenant_id", "varchar"]] + spec_line_columns("Payment", "platform")) }}
