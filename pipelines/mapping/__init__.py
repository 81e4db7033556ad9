"""The mapping spec (spec.yml) as validated data, and what it says to dbt and to the mastering policy.

The spec is read once, checked against the platform DTOs (every platform path must exist) and
against itself (links name mapped entities, match fields exist, read-only fields are QBO's), then
handed to dbt as a rendered macro (`render_dbt_macro`): warehouse column names are computed here,
with dlt's own naming convention, so the SQL never spells a column the loader did not make.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from dlt.common.normalizers.naming.snake_case import NamingConvention
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sources.platform.dto import MODELS, Dto

SPEC_PATH = Path(__file__).with_name("spec.yml")
Rule = Literal["text", "name", "code", "email", "phone", "money", "number", "date", "bool", "exact"]
Master = Literal["platform", "qbo"]
NAMING = NamingConvention()
# the SQL type each rule compares in: the cast staging applies to both sides
SQL_TYPES: dict[str, str] = {
    "money": "decimal(18,2)",
    "number": "decimal(18,6)",
    "date": "date",
    "bool": "boolean",
}
LINES_FIELD = "lines"  # a line array compares as one field: every line, in key order
DERIVED = ("invoice_status", "invoice_voided", "invoice_discount")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldSpec(_Strict):
    platform: str
    qbo: str | list[str] | None = None
    qbo_derived: Literal[DERIVED] | None = None  # type: ignore[valid-type]
    rule: Rule
    master: Master | None = None
    read_only: bool = False
    link: str | None = None
    lookup: str | None = Field(None, pattern=r"^[A-Z]\w+\.[A-Z]\w+$")
    enum: dict[str, str] | None = None
    negate: bool = False
    destructive: Literal["deactivate", "void"] | None = None
    required: bool = False
    max_length: int | None = Field(None, ge=1)
    create_default: Literal["most_common"] | None = None

    @field_validator("enum", mode="before")
    @classmethod
    def _enum_keys_as_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k).lower(): str(v) for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _one_qbo_source(self) -> FieldSpec:
        if (self.qbo is None) == (self.qbo_derived is None):
            raise ValueError("give exactly one of `qbo` (a path) and `qbo_derived`")
        if self.read_only and self.master == "platform":
            raise ValueError("a read_only field is computed by QBO and cannot be mastered by the platform")
        return self

    @property
    def qbo_paths(self) -> list[str]:
        if self.qbo is None:
            return []
        return [self.qbo] if isinstance(self.qbo, str) else list(self.qbo)


class LineKey(_Strict):
    platform: str
    qbo: str
    link: str | None = None


class LinesSpec(_Strict):
    platform: str
    qbo: str
    qbo_where: dict[str, str] = Field(default_factory=dict)
    key: LineKey
    fields: dict[str, FieldSpec]


class MatchKey(_Strict):
    field: str
    weight: float = Field(gt=0, le=1)
    block: bool = False  # candidate pairs are looked for on this key (a selective one)


class EntitySpec(_Strict):
    master: Master
    match: list[MatchKey] = Field(min_length=1)
    match_threshold: float = Field(gt=0, le=1)
    fields: dict[str, FieldSpec]
    lines: LinesSpec | None = None

    def master_of(self, field: str) -> Master:
        spec = self.fields.get(field)
        if spec is not None and spec.read_only:
            return "qbo"
        if spec is not None and spec.master:
            return spec.master
        return self.master


class MappingSpec(_Strict):
    entities: dict[str, EntitySpec]

    @model_validator(mode="after")
    def _consistent(self) -> MappingSpec:
        problems: list[str] = []
        for name, entity in self.entities.items():
            if name not in MODELS:
                problems.append(f"{name}: no platform DTO of that name ({', '.join(MODELS)})")
                continue
            model = MODELS[name]
            for field_name, spec in entity.fields.items():
                problems += _check_field(name, field_name, spec, model, self.entities)
            if not any(k.block for k in entity.match):
                problems.append(f"{name}.match: no `block` key to look for candidate pairs on")
            if abs(sum(k.weight for k in entity.match) - 1) > 1e-9:
                problems.append(
                    f"{name}.match: the weights add up to {sum(k.weight for k in entity.match)}, not 1"
                )
            for key in entity.match:
                if key.field not in entity.fields and not (key.field == LINES_FIELD and entity.lines):
                    problems.append(f"{name}.match: {key.field!r} is not a field of {name}")
            if entity.lines is not None:
                line_model = _nested_model(model, entity.lines.platform)
                if line_model is None:
                    problems.append(f"{name}.lines: {entity.lines.platform!r} is not a list of objects")
                    continue
                if _column(line_model, entity.lines.key.platform) is None:
                    problems.append(f"{name}.lines.key: no {entity.lines.key.platform!r} in the line DTO")
                for field_name, spec in entity.lines.fields.items():
                    problems += _check_field(f"{name}.lines", field_name, spec, line_model, self.entities)
        if problems:
            raise ValueError("mapping spec:\n  " + "\n  ".join(problems))
        return self


def _check_field(
    where: str, name: str, spec: FieldSpec, model: type[Dto], entities: dict[str, EntitySpec]
) -> list[str]:
    problems = []
    if _column(model, spec.platform) is None:
        problems.append(f"{where}.{name}: {spec.platform!r} is not a field of the platform DTO")
    if spec.link and spec.link not in entities:
        problems.append(f"{where}.{name}: link to {spec.link!r}, which the spec does not map")
    if spec.negate and spec.rule != "bool":
        problems.append(f"{where}.{name}: negate applies to bool fields only")
    return problems


def _nested_model(model: type[Dto], path: str) -> type[Dto] | None:
    """The DTO class of the list (or object) at `path`, e.g. Invoice `lines` -> InvoiceLine."""
    info = _field_info(model, path.split(".", maxsplit=1)[0])
    if info is None:
        return None
    annotation = info.annotation
    for candidate in (*getattr(annotation, "__args__", ()), annotation):
        if isinstance(candidate, type) and issubclass(candidate, Dto):
            return candidate
    return None


def _field_info(model: type[Dto], alias: str) -> Any:
    for name, info in model.model_fields.items():
        if alias in (name, info.alias, info.serialization_alias):
            return info
    return None


def _column(model: type[Dto], path: str) -> str | None:
    """The warehouse column dlt makes for a DTO path: python names joined by `__` (billing_address__city)."""
    parts, current = [], model
    for segment in path.split("."):
        found = next(
            (n for n, i in current.model_fields.items() if segment in (n, i.alias)),
            None,
        )
        if found is None:
            return None
        parts.append(found)
        nested = _nested_model(current, segment)
        current = nested or current
    return NAMING.make_path(*(NAMING.normalize_identifier(p) for p in parts))


def qbo_column(path: str) -> str:
    """The warehouse column of a QBO path (BillAddr.Line1 -> bill_addr__line1)."""
    return NAMING.make_path(*(NAMING.normalize_identifier(p) for p in path.split(".")))


@cache
def load_spec(path: Path = SPEC_PATH) -> MappingSpec:
    return MappingSpec.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def _rendered_field(name: str, spec: FieldSpec, model: type[Dto], entity: EntitySpec | None) -> dict:
    return {
        "name": name,
        "platform_column": _column(model, spec.platform),
        "platform_path": spec.platform,
        "qbo_paths": spec.qbo_paths,
        "qbo_columns": [qbo_column(p) for p in spec.qbo_paths],
        "qbo_derived": spec.qbo_derived,
        "rule": spec.rule,
        "sql_type": SQL_TYPES.get(spec.rule, "varchar"),
        "master": entity.master_of(name) if entity is not None else None,
        "read_only": spec.read_only,
        "link": spec.link,
        "lookup_table": NAMING.normalize_identifier(spec.lookup.split(".")[0]) if spec.lookup else None,
        "lookup_column": qbo_column(spec.lookup.split(".")[1]) if spec.lookup else None,
        "enum": spec.enum,
        "negate": spec.negate,
        "destructive": spec.destructive,
        "required": spec.required,
        "max_length": spec.max_length,
        "create_default": spec.create_default,
    }


def rendered(spec: MappingSpec | None = None) -> dict[str, Any]:
    """The spec as dbt reads it: per entity, fields with their warehouse columns, types and masters."""
    spec = spec or load_spec()
    out: dict[str, Any] = {}
    for name, entity in spec.entities.items():
        model = MODELS[name]
        item: dict[str, Any] = {
            "entity": name,
            "table": NAMING.normalize_identifier(name),
            "master": entity.master,
            "match": [{"field": k.field, "weight": k.weight, "block": k.block} for k in entity.match],
            "match_threshold": entity.match_threshold,
            "fields": [_rendered_field(n, f, model, entity) for n, f in entity.fields.items()],
            "lines": None,
        }
        if entity.lines is not None:
            lines = entity.lines
            line_model = _nested_model(model, lines.platform)
            assert line_model is not None
            item["lines"] = {
                "platform_table": f"{item['table']}__{_column(model, lines.platform)}",
                "qbo_table": f"{item['table']}__{qbo_column(lines.qbo)}",
                "qbo_where": {qbo_column(k): v for k, v in lines.qbo_where.items()},
                "qbo_where_paths": dict(lines.qbo_where),
                "key": {
                    "platform_column": _column(line_model, lines.key.platform),
                    "qbo_path": lines.key.qbo,
                    "qbo_column": qbo_column(lines.key.qbo),
                    "link": lines.key.link,
                },
                "fields": [_rendered_field(n, f, line_model, None) for n, f in lines.fields.items()],
            }
        out[name] = item
    return out


MACRO_HEADER = (
    "{#- generated by pipelines/mapping from pipelines/mapping/spec.yml: do not edit;\n"
    "    `qbo transform` renders it before every run (and tests check it is current) -#}\n"
)


def render_dbt_macro(spec: MappingSpec | None = None) -> str:
    body = json.dumps(rendered(spec), indent=1, sort_keys=True)
    return (
        MACRO_HEADER + "{% macro mapping_spec() %}\n{% set spec %}\n" + body + "\n{% endset %}\n"
        "{{ return(fromjson(spec)) }}\n{% endmacro %}\n"
    )
