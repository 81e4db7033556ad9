{#- What each platform payment pays: invoice (platform id) and amount. -#}
{{ stg_child("platform", "payment__applied_to", [["tenant_id", "tenant_id", "varchar"]] + spec_line_columns("Payment", "platform")) }}
