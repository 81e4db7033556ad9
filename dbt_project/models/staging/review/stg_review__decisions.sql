{#- People's standing decisions (resolve, confirm, reject_match, approve, reject, acknowledge): renamed and cast. -#}
{{ select_columns(source("review", "decisions"), [
    ["id", "decision_id", "bigint"],
    ["tenant_id", "tenant_id", "varchar"],
    ["realm_id", "realm_id", "varchar"],
    ["entity", "entity", "varchar"],
    ["platform_id", "platform_id", "varchar"],
    ["qbo_id", "qbo_id", "varchar"],
    ["kind", "kind", "varchar"],
    ["field", "field", "varchar"],
    ["choice", "choice", "varchar"],
    ["value", "entered_value", "varchar"],
    ["platform_value", "seen_platform_value", "varchar"],
    ["qbo_value", "seen_qbo_value", "varchar"],
    ["version", "version", "varchar"],
    ["reviewer", "reviewer", "varchar"],
]) }}
