{#- Platform bill lines (`parent_dlt_id` joins stg_platform__bills.dlt_id). -#}
{{ stg_child("platform", mapping_spec()["Bill"]["lines"]["platform_table"], [["tenant_id", "tenant_id", "varchar"]] + spec_line_columns("Bill", "platform")) }}
