{#- Files and notes attached to QBO records. Renamed and cast. -#}
{{ stg_qbo("attachable", extra=[
    ["file_name", "file_name", "varchar"],
    ["note", "note", "varchar"],
    ["content_type", "content_type", "varchar"],
    ["category", "category", "varchar"],
    ["size", "size", "bigint"],
]) }}
