{#- Values the spec derives from QBO fields (`qbo_derived`), the same way pipelines/mapping/values.py does:
    a voided invoice is "Voided" with nothing left to pay; its status (SPEC §5.2) follows from balance and void. -#}

{% macro invoice_voided(record) -%}
    (coalesce({{ record }}.private_note like 'Voided%', false) and coalesce({{ record }}.total_amount, 0) = 0)
{%- endmacro %}

{% macro invoice_status(record) -%}
    case
        when {{ invoice_voided(record) }} then 'voided'
        when coalesce({{ record }}.balance, 0) <= 0 then 'paid'
        when {{ record }}.balance < {{ record }}.total_amount then 'partially_paid'
        else 'open'
    end
{%- endmacro %}

{#- zeros written 0.00: PostgreSQL shows a bare 0 as "0" (DuckDB's type keeps the cents either way) -#}
{% macro invoice_discount(record) -%}
    case when {{ invoice_voided(record) }} then 0.00 else coalesce(discounts.discount_amount, 0.00) end
{%- endmacro %}

{% macro derived_value(name, record) -%}
    {%- if name == "invoice_status" -%}{{ invoice_status(record) }}
    {%- elif name == "invoice_voided" -%}{{ invoice_voided(record) }}
    {%- elif name == "invoice_discount" -%}{{ invoice_discount(record) }}
    {%- else -%}{{ exceptions.raise_compiler_error("no derived field " ~ name) }}
    {%- endif -%}
{%- endmacro %}

{#- The CTEs the derived values of an entity read, and how they join its records. -#}
{% macro derived_ctes(entity) -%}
    {%- if entity == "Invoice" -%}
discounts as (
    select parent_dlt_id, sum(amount) as discount_amount
    from {{ ref("stg_qbo__invoice_lines") }}
    where detail_type = 'DiscountLineDetail'
    group by parent_dlt_id
),
    {%- endif -%}
{%- endmacro %}

{% macro derived_joins(entity) -%}
    {%- if entity == "Invoice" -%}
left join discounts on discounts.parent_dlt_id = base.dlt_id
    {%- endif -%}
{%- endmacro %}

{#- The day overdue and aging are judged on: var as_of_date, else today. -#}
{% macro as_of_date() -%}
    {%- if var("as_of_date") -%}cast('{{ var("as_of_date") }}' as date){%- else -%}current_date{%- endif -%}
{%- endmacro %}

{#- The aging bucket of an amount `days` past due. -#}
{% macro aging_bucket(days) -%}
    case
        when {{ days }} <= 0 then 'current'
        when {{ days }} <= 30 then '1-30'
        when {{ days }} <= 60 then '31-60'
        when {{ days }} <= 90 then '61-90'
        else 'over 90'
    end
{%- endmacro %}
