{#- Platform invoice lines (`parent_dlt_id` joins stg_platform__invoices.dlt_id). -#}
{{ stg_child("platform", mapping_spec()["Invoice"]["lines"]["platform_table"], [["tenant_id", "tenant_id", "varchar"]] + spec_line_columns("Invoice", "platform")) }}
