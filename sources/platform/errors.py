"""The error DTO of the spec (§7.2), the one shape of every refusal: `code`, `message`, `details[]`.

Each detail names the `field` in the platform's own terms (`lines[2].itemId`, as the platform sent it)
and the `issue` as a short machine-readable word (`required`, `too_long`, ...), so a platform can show
it beside the field. `message` (what a person reads) and `code` (QBO's own fault code, when QBO refused)
are camelCase additions the spec allows; nothing is renamed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

# pydantic's error types (and QBO's fault codes) -> the issue a platform can act on
ISSUES = {
    "missing": "required",
    "string_too_long": "too_long",
    "too_long": "too_long",
    "string_too_short": "too_short",
    "too_short": "too_short",
    "literal_error": "not_allowed",
    "enum": "not_allowed",
    "extra_forbidden": "unknown_field",
    "greater_than": "out_of_range",
    "greater_than_equal": "out_of_range",
    "less_than": "out_of_range",
    "less_than_equal": "out_of_range",
    "string_pattern_mismatch": "bad_format",
    "date_from_datetime_parsing": "bad_format",
    "date_parsing": "bad_format",
    "datetime_parsing": "bad_format",
    "decimal_parsing": "not_a_number",
    "decimal_max_places": "too_precise",
    "decimal_max_digits": "too_large",
    "decimal_whole_digits": "too_large",
    "finite_number": "not_a_number",
    "string_unicode": "bad_format",
    "int_parsing": "not_a_number",
    "bool_parsing": "not_a_boolean",
    "string_type": "not_text",
    "list_type": "not_a_list",
    "model_type": "not_an_object",
    "dict_type": "not_an_object",
    "value_error": "invalid",
    "2020": "required",  # QBO: required param missing
    "2050": "too_long",  # QBO: string length
    "6240": "duplicate",  # QBO: duplicate name
    "6140": "duplicate",  # QBO: duplicate document number
    "2500": "invalid_reference",
    "610": "not_found",  # QBO: object not found (gone, or made inactive)
    "5010": "stale",
}


def issue_of(kind: str) -> str:
    """The issue word for a pydantic error type or a QBO fault code; `invalid` when it has none."""
    return ISSUES.get(kind, kind if kind.isidentifier() and kind.islower() else "invalid")


def field_path(loc: Sequence[str | int]) -> str:
    """`("lines", 2, "itemId")` -> `lines[2].itemId`: the path as the platform wrote the record."""
    out = ""
    for part in loc:
        if isinstance(part, int) or (isinstance(part, str) and part.isdigit()):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def detail(field: str | None, issue: str, message: str | None = None, **extensions: Any) -> dict[str, Any]:
    """One detail: what is wrong (`issue`) with which field (`field`, `(record)` for the whole record)."""
    out: dict[str, Any] = {"field": field or "(record)", "issue": issue}
    if message:
        out["message"] = message
    out.update({k: v for k, v in extensions.items() if v is not None})
    return out


def error_dto(code: str, message: str, details: Iterable[dict[str, Any]] = ()) -> dict[str, Any]:
    return {"code": code, "message": message, "details": list(details)}
