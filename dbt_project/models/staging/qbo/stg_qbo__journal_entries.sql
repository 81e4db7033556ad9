{#- Journal entries. Renamed and cast. -#}
{{ stg_qbo("journal_entry", extra=[
    ["doc_number", "doc_number", "varchar"],
    ["txn_date", "txn_date", "date"],
    ["total_amt", "total_amount", "decimal(18,2)"],
    ["adjustment", "adjustment", "boolean"],
    ["private_note", "private_note", "varchar"],
    ["currency_ref__value", "currency", "varchar"],
    ["currency_ref__name", "currency_name", "varchar"],
]) }}
