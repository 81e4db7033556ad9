"""The mapping spec (spec.yml) as validated data: what it says per entity, field and line array.

The spec is read once, checked against the platform DTOs (every platform path must exist) and
against itself (links name mapped entities, match fields exist, read-only fields are QBO's). The
warehouse column of each path is computed here, with dlt's own naming convention, so no SQL spells
a column the loader did not make. rendering.py turns it into the form every reader takes (dbt's
generated macro included); policy.py, values.py, payloads.py and outbound.py read that.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pipelines.mapping.values import LINES_FIELD
from sources.platform.dto import MODELS, QBO_MASTERED, Dto

SPEC_PATH = Path(__file__).with_name("spec.yml")
Rule = Literal["text", "name", "code", "email", "phone", "money", "number", "date", "bool", "exact"]
Master = Literal["platform", "qbo"]


class _Naming:
    """dlt's snake_case naming convention (dlt.common.normalizers.naming.snake_case), written out: importing
    dlt costs a second that `qbo ask` and the gateway should not pay for a spec they only read.
    tests/transform/test_mapping_spec.py checks it names every spec field and entity as dlt does."""

    _BREAK_1 = re.compile("([^_])([A-Z][a-z]+)")
    _BREAK_2 = re.compile("([a-z0-9])([A-Z])")
    _REDUCE = str.maketrans("+-*@|", "x_xal")
    _NON_ALPHANUMERIC = re.compile(r"[^a-zA-Z\d_]+")
    _UNDERSCORES = re.compile("__+")

    @cache  # noqa: B019 - one instance, for the life of the process
    def normalize_identifier(self, identifier: str) -> str:
        identifier = identifier.strip()
        if not identifier:
            raise ValueError("an empty identifier")
        name = self._NON_ALPHANUMERIC.sub("_", identifier.translate(self._REDUCE))
        name = self._BREAK_2.sub(r"\1_\2", self._BREAK_1.sub(r"\1_\2", name)).lower()
        if name[:1].isdigit():
            name = "_" + name
        stripped = name.rstrip("_")
        return self._UNDERSCORES.sub("_", stripped + "x" * (len(name) - len(stripped)))

    @staticmethod
    def make_path(*parts: str) -> str:
        return "__".join(p for p in parts if p.strip())


NAMING = _Naming()
# the SQL type each rule compares in: the cast staging applies to both sides
SQL_TYPES: dict[str, str] = {
    "money": "decimal(18,2)",
    "number": "decimal(18,6)",
    "date": "date",
    "bool": "boolean",
}
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
    destructive: Literal["deactivate", "void"] | None = None
    required: bool = False
    max_length: int | None = Field(None, ge=1)
    create_default: Literal["most_common"] | None = None

    @field_validator("enum", mode="before")
    @classmethod
    def _enum_keys_as_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
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
    qbo_where: dict[str, str | list[str]] = Field(default_factory=dict)
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
    reference: dict[str, dict[str, str]] = Field(default_factory=dict)  # platform field: QBO path

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
                line_model = nested_model(model, entity.lines.platform)
                if line_model is None:
                    problems.append(f"{name}.lines: {entity.lines.platform!r} is not a list of objects")
                    continue
                if platform_column(line_model, entity.lines.key.platform) is None:
                    problems.append(f"{name}.lines.key: no {entity.lines.key.platform!r} in the line DTO")
                for field_name, spec in entity.lines.fields.items():
                    problems += _check_field(f"{name}.lines", field_name, spec, line_model, self.entities)
        problems += _links_point_back(self.entities)
        for name, fields in self.reference.items():
            if name not in QBO_MASTERED:
                known = ", ".join(QBO_MASTERED)
                problems.append(f"reference.{name}: no QBO-mastered DTO of that name ({known})")
                continue
            problems += [
                f"reference.{name}.{path}: not a field of the {name} DTO"
                for path in fields
                if platform_column(QBO_MASTERED[name], path) is None
            ]
        if problems:
            raise ValueError("mapping spec:\n  " + "\n  ".join(problems))
        return self


def _links_point_back(entities: dict[str, EntitySpec]) -> list[str]:
    """The spec's entity order is the push order: a referenced record must be created before its users."""
    order = list(entities)
    problems = []
    for name, entity in entities.items():
        refs = [f.link for f in entity.fields.values()]
        if entity.lines is not None:
            refs += [entity.lines.key.link, *(f.link for f in entity.lines.fields.values())]
        for target in refs:
            if target in order and order.index(target) >= order.index(name):
                problems.append(f"{name} links to {target}: list {target} before {name} in the spec")
    return problems


def _check_field(
    where: str, name: str, spec: FieldSpec, model: type[Dto], entities: dict[str, EntitySpec]
) -> list[str]:
    problems = []
    if platform_column(model, spec.platform) is None:
        problems.append(f"{where}.{name}: {spec.platform!r} is not a field of the platform DTO")
    if spec.link and spec.link not in entities:
        problems.append(f"{where}.{name}: link to {spec.link!r}, which the spec does not map")
    return problems


def nested_model(model: type[Dto], path: str) -> type[Dto] | None:
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


def platform_column(model: type[Dto], path: str) -> str | None:
    """The warehouse column dlt makes for a DTO path: python names joined by `__` (billing_address__city)."""
    parts, current = [], model
    for segment in path.split("."):
        found = next(
            (n for n, i in current.model_fields.items() if segment in (n, i.alias)),
            None,
        )
        if found is None and NAMING.normalize_identifier(segment) in current.model_computed_fields:
            found = NAMING.normalize_identifier(segment)  # a value the DTO derives and lands (voided)
        if found is None:
            return None
        parts.append(found)
        nested = nested_model(current, segment)
        current = nested or current
    return NAMING.make_path(*(NAMING.normalize_identifier(p) for p in parts))


def qbo_column(path: str) -> str:
    """The warehouse column of a QBO path (BillAddr.Line1 -> bill_addr__line1)."""
    return NAMING.make_path(*(NAMING.normalize_identifier(p) for p in path.split(".")))


@cache
def load_spec(path: Path = SPEC_PATH) -> MappingSpec:
    return MappingSpec.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
