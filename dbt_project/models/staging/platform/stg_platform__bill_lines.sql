{#- Platform bill lines (`parent_dlt_id` joins stg_platform__bills.dlt_id). -#}
{{ stg_child("platform", "bill__lines", [["tenant_id", "tenant_id", "varchar"]] + spec_line_columns("Bill", "platform")) }}
