{#- Every record QBO deleted (or merged away), from any entity: kept for audit while the live
    models leave them out. `merged_into_qbo_id` says where a merged name-list record went. -#}
{%- set entities = [
    ("account", "stg_qbo__accounts"),
    ("attachable", "stg_qbo__attachables"),
    ("bill_payment", "stg_qbo__bill_payments"),
    ("bill", "stg_qbo__bills"),
    ("budget", "stg_qbo__budgets"),
    ("class", "stg_qbo__classes"),
    ("company_info", "stg_qbo__company_infos"),
    ("credit_memo", "stg_qbo__credit_memos"),
    ("customer_type", "stg_qbo__customer_types"),
    ("customer", "stg_qbo__customers"),
    ("department", "stg_qbo__departments"),
    ("deposit", "stg_qbo__deposits"),
    ("employee", "stg_qbo__employees"),
    ("estimate", "stg_qbo__estimates"),
    ("invoice", "stg_qbo__invoices"),
    ("item", "stg_qbo__items"),
    ("journal_entry", "stg_qbo__journal_entries"),
    ("payment_method", "stg_qbo__payment_methods"),
    ("payment", "stg_qbo__payments"),
    ("preferences", "stg_qbo__preferences"),
    ("purchase_order", "stg_qbo__purchase_orders"),
    ("purchase", "stg_qbo__purchases"),
    ("refund_receipt", "stg_qbo__refund_receipts"),
    ("sales_receipt", "stg_qbo__sales_receipts"),
    ("tax_agency", "stg_qbo__tax_agencies"),
    ("tax_code", "stg_qbo__tax_codes"),
    ("tax_rate", "stg_qbo__tax_rates"),
    ("term", "stg_qbo__terms"),
    ("time_activity", "stg_qbo__time_activities"),
    ("transfer", "stg_qbo__transfers"),
    ("vendor_credit", "stg_qbo__vendor_credits"),
    ("vendor", "stg_qbo__vendors"),
] %}
{%- for table, model in entities %}
select '{{ table }}' as qbo_table, realm_id, qbo_id, deleted_at, merged_into_qbo_id
from {{ ref(model) }}
where is_deleted
{{ "union all" if not loop.last }}
{%- endfor %}
