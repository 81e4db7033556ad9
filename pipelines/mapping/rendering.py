"""The mapping spec rendered once, into the form every reader takes (DESIGN decision 7).

`rendered()` is the spec as data: per entity, each field with its warehouse columns (named with dlt's
own naming convention, so no SQL spells a column the loader did not make), its SQL type and master,
and the SQL that makes it a QBO value. dbt reads the same data from a generated macro holding it as
one line of JSON (`render_dbt_macro`); Python reads it here. Among what it holds:

- `pushable`: whether a push may write the field (QBO does not compute it, it is no destructive
  operation);
- `outbound_columns`: the [column, SQL expression] pairs of a pushable field as QBO takes it, over the
  aliases macros/outbound.sql joins (`base.<field>`, `lookup__<field>.qbo_id`, `link__<field>.qbo_id`,
  `default__<field>.value`, `operations.operation`); a line array's key and fields have them too;
- `platform_value`: a field's platform value in the platform's terms (a link is the QBO Id it names);
- `signatures` of a line array (all its lines as one value) and the entity's `payload_hash`.

The outbound models emit these expressions, and mapping/outbound.py evaluates the very same ones for
a real-time push, so a record pushed either way is sent alike, under the same payload hash.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from pipelines.mapping.spec import (
    LINES_FIELD,
    NAMING,
    SQL_TYPES,
    EntitySpec,
    FieldSpec,
    MappingSpec,
    load_spec,
    nested_model,
    platform_column,
    qbo_column,
)
from sources.platform.dto import MODELS, Dto

LINE_KEY = "line_key"  # the name a line array's key goes by in the models
DISCOUNT = "invoice_discount"  # the one derived field a push writes (as a discount line)
LAST_WORD, UP_TO_LAST_WORD = r"'\s+\S+$'", r"'^.*\s'"  # SQL regular expressions of a composite name


def _pushable(spec: FieldSpec) -> bool:
    """What a push may write: not computed by QBO, not a destructive operation (those wait for approval)."""
    return not spec.read_only and spec.qbo_derived in (None, DISCOUNT) and not spec.destructive


def outbound_columns(f: dict[str, Any]) -> list[list[str]]:
    """[column, expression] of a rendered field as QBO takes it, from the platform record `base`."""
    name, columns = f["name"], f["qbo_columns"]
    value = f"base.{name}"
    if f.get("qbo_derived"):
        return [[name, value]]
    if len(columns) > 1:  # GivenName + FamilyName: the last word is the family name
        words = f"case when {value} like '% %' then regexp_replace(trim({value}), "
        return [
            [columns[0], f"{words}{LAST_WORD}, '') else trim({value}) end"],
            [columns[1], f"{words}{UP_TO_LAST_WORD}, '') end"],
        ]
    if f.get("lookup_table"):
        return [[columns[0], f"lookup__{name}.qbo_id"]]
    if f.get("link"):
        # the platform's reference too: a push can fill the QBO Id once the referenced record is created
        return [[columns[0], f"link__{name}.qbo_id"], [f"{name}__platform_id", value]]
    if f.get("enum"):
        cases = " ".join(f"when '{p}' then '{q}'" for p, q in f["enum"].items())
        return [[columns[0], f"case {value} {cases} end"]]
    if f.get("create_default"):
        # QBO requires it: a create without a platform value takes the realm's usual one
        default = f"case when operations.operation = 'create' then default__{name}.value end"
        return [[columns[0], f"coalesce({value}, {default})"]]
    return [[columns[0], value]]


def listed(list_expr: str, name: str) -> str:
    """`, name,` found in a comma-separated list (", a, b,"): whether a field is in the payload."""
    return f"(', ' || {list_expr} || ',' like '%, {name},%')"


def line_signature(names: list[str], prefix: str) -> str:
    """A line array as one value: every line's key and fields, in key order (over `<prefix><field>`).
    Lines of one key (or none) follow their text, as values.py sorts them: without it the engine
    picks, and DuckDB and PostgreSQL pick differently."""
    parts = "".join(f" || '|' || coalesce(cast({prefix}{n} as varchar), '')" for n in names)
    entry = f"coalesce(cast({prefix}{LINE_KEY} as varchar), '?'){parts}"
    return f"string_agg({entry}, '; ' order by {prefix}{LINE_KEY}, {entry})"


def payload_hash(fields: list[dict[str, Any]], has_lines: bool) -> str:
    """The hash of what a push sends: operation, record, and the listed fields' values (the lines as
    their signature `lines_signature`). The same for the same change, however it is pushed: the push
    log keeps it, and a push that finds it there with an "ok" knows it sent this very payload already."""
    parts = ["operation", "coalesce(qbo_id, '')", "platform_id"]
    for f in fields:
        for column, _ in f["outbound_columns"]:
            parts.append(
                f"case when {listed('payload_fields', f['name'])} "
                f"then '{column}=' || coalesce(cast({column} as varchar), '') end"
            )
    if has_lines:
        parts.append(f"case when {listed('payload_fields', LINES_FIELD)} then lines_signature end")
    return f"md5(concat_ws('|', {', '.join(parts)}))"


def _rendered_field(name: str, spec: FieldSpec, model: type[Dto], entity: EntitySpec | None) -> dict:
    out = {
        "name": name,
        "platform_column": platform_column(model, spec.platform),
        "platform_path": spec.platform,
        # a value the DTO derives from others (Invoice `voided` from `status`): landed, never sent
        "platform_computed": spec.platform in model.model_computed_fields,
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
        "destructive": spec.destructive,
        "required": spec.required,
        "max_length": spec.max_length,
        "create_default": spec.create_default,
        "platform_value": f"link__{name}.qbo_id" if spec.link else f"base.{name}",
        "pushable": _pushable(spec),
    }
    out["outbound_columns"] = outbound_columns(out) if out["pushable"] else []
    return out


def rendered(spec: MappingSpec | None = None) -> dict[str, Any]:
    """The spec as every reader takes it: per entity, fields with their warehouse columns, types,
    masters and outbound SQL; the line array's likewise; the payload hash. The spec.yml one is
    rendered once per process and shared: read it, never change it."""
    return _rendered_spec_yml() if spec is None else _render(spec)


@cache
def _rendered_spec_yml() -> dict[str, Any]:
    return _render(load_spec())


def _render(spec: MappingSpec) -> dict[str, Any]:
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
            line_model = nested_model(model, lines.platform)
            assert line_model is not None
            key: dict[str, Any] = {
                "name": LINE_KEY,
                "platform_column": platform_column(line_model, lines.key.platform),
                "platform_path": lines.key.platform,
                "qbo_path": lines.key.qbo,
                "qbo_column": qbo_column(lines.key.qbo),
                "link": lines.key.link,
                "platform_value": f"link__{LINE_KEY}.qbo_id" if lines.key.link else f"base.{LINE_KEY}",
            }
            key["outbound_columns"] = outbound_columns({**key, "qbo_columns": [key["qbo_column"]]})
            fields = [_rendered_field(n, f, line_model, None) for n, f in lines.fields.items()]
            names = [f["name"] for f in fields]
            item["lines"] = {
                "platform_table": f"{item['table']}__{platform_column(model, lines.platform)}",
                "platform_path": lines.platform,
                "qbo_path": lines.qbo,
                "qbo_table": f"{item['table']}__{qbo_column(lines.qbo)}",
                "qbo_where": {qbo_column(k): _listed(v) for k, v in lines.qbo_where.items()},
                "qbo_where_paths": {k: _listed(v) for k, v in lines.qbo_where.items()},
                "key": key,
                "fields": fields,
                "signatures": {prefix: line_signature(names, prefix) for prefix in ("v__", "n__")},
            }
        item["payload_hash"] = payload_hash(
            [f for f in item["fields"] if f["pushable"]], item["lines"] is not None
        )
        out[name] = item
    return out


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


MACRO_HEADER = (
    "{#- generated by pipelines/mapping/rendering.py from pipelines/mapping/spec.yml: do not edit;\n"
    "    `qbo transform` renders it before every run (and tests check it is current) -#}\n"
)


def render_dbt_macro(spec: MappingSpec | None = None) -> str:
    """The rendered spec as dbt reads it (`mapping_spec()`): one line of compact JSON, kept raw."""
    body = json.dumps(rendered(spec), separators=(",", ":"), sort_keys=True)
    return (
        f"{MACRO_HEADER}{{% macro mapping_spec() %}}\n"
        f"{{% set spec %}}{{% raw %}}{body}{{% endraw %}}{{% endset %}}\n"
        "{{ return(fromjson(spec)) }}\n{% endmacro %}\n"
    )
