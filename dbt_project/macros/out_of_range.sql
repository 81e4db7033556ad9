{#- Numbers QBO (or the platform) holds beyond the decimal a model reads them as. QBO's data is not ours
    to refuse: a value that does not fit becomes null instead of failing the build for every tenant,
    and the record is listed in sync_issues as `value_out_of_range`, naming the field. -#}

{#- safe_decimal(expr, precision, scale): `expr` as the decimal, or null when it does not fit
    (macros/dialect.sql: DuckDB's try_cast, a checked cast on PostgreSQL). -#}

{#- A bounded decimal type ("decimal(18,2)", "numeric(18, 6)") as [precision, scale]; none for other types. -#}
{% macro bounded_decimal(type) -%}
    {%- set compact = type | lower | replace(" ", "") -%}
    {%- set inner = compact.split("(", 1)[1][:-1].split(",") if compact.startswith(("decimal(", "numeric(")) and compact.endswith(")") else [] -%}
    {{ return([inner[0] | int, inner[1] | int] if inner | length == 2 else none) }}
{%- endmacro %}

{#- A raw column cast to `type`: a bounded decimal that does not fit becomes null, other types cast. -#}
{% macro cast_column(expr, type) -%}
    {%- set bounds = bounded_decimal(type) -%}
    {%- if bounds -%}{{ safe_decimal(expr, bounds[0], bounds[1]) }}{%- else -%}cast({{ expr }} as {{ type }}){%- endif -%}
{%- endmacro %}

{#- Which of `columns` ([raw column, alias, type], those in `existing`) hold a value their bounded decimal
    cannot: "total_amount = 1e+20 does not fit decimal(18,2)", joined by "; ", null when all fit. -#}
{% macro out_of_range_check(columns, existing) -%}
    {%- set checks = [] -%}
    {%- for column, alias, type in columns if column in existing and bounded_decimal(type) -%}
        {%- set raw = adapter.quote(column) -%}
        {%- do checks.append("case when " ~ raw ~ " is not null and " ~ cast_column(raw, type) ~ " is null then '"
            ~ alias ~ " = ' || cast(" ~ raw ~ " as varchar) || ' does not fit " ~ type ~ "' end") -%}
    {%- endfor -%}
    {%- if checks -%}nullif(concat_ws('; ', {{ checks | join(", ") }}), ''){%- else -%}cast(null as varchar){%- endif -%}
{%- endmacro %}

{#- each of a line's values as "line 2: amount = ... does not fit decimal(18,2)" -#}
{% macro line_prefixed(lines) -%}
    'line ' || cast({{ lines }}.position + 1 as varchar) || ': '
        || replace({{ lines }}.out_of_range, '; ', '; line ' || cast({{ lines }}.position + 1 as varchar) || ': ')
{%- endmacro %}

{#- The QBO entity staging models, by entity: every one may hold a value out of range, or one the sync
    loaded rounded (`extreme_values`, sources/quickbooks/extract.py). -#}
{% macro qbo_staging_models() -%}
    {{ return({
        "Account": "stg_qbo__accounts", "Attachable": "stg_qbo__attachables", "Bill": "stg_qbo__bills",
        "BillPayment": "stg_qbo__bill_payments", "Budget": "stg_qbo__budgets", "Class": "stg_qbo__classes",
        "CompanyInfo": "stg_qbo__company_infos", "CreditMemo": "stg_qbo__credit_memos",
        "Customer": "stg_qbo__customers", "CustomerType": "stg_qbo__customer_types",
        "Department": "stg_qbo__departments", "Deposit": "stg_qbo__deposits", "Employee": "stg_qbo__employees",
        "Estimate": "stg_qbo__estimates", "Invoice": "stg_qbo__invoices", "Item": "stg_qbo__items",
        "JournalEntry": "stg_qbo__journal_entries", "Payment": "stg_qbo__payments",
        "PaymentMethod": "stg_qbo__payment_methods", "Preferences": "stg_qbo__preferences",
        "Purchase": "stg_qbo__purchases", "PurchaseOrder": "stg_qbo__purchase_orders",
        "RefundReceipt": "stg_qbo__refund_receipts", "SalesReceipt": "stg_qbo__sales_receipts",
        "TaxAgency": "stg_qbo__tax_agencies", "TaxCode": "stg_qbo__tax_codes", "TaxRate": "stg_qbo__tax_rates",
        "Term": "stg_qbo__terms", "TimeActivity": "stg_qbo__time_activities", "Transfer": "stg_qbo__transfers",
        "Vendor": "stg_qbo__vendors", "VendorCredit": "stg_qbo__vendor_credits",
    }) }}
{%- endmacro %}
