{#- Platform invoice lines (`parent_dlt_id` joins stg_platform__invoices.dlt_id). -#}
{{ stg_child("platform", "invoice__lines", [["tenant_id", "tenant_id", "varchar"]] + spec_line_columns("Invoice", "platform")) }}
