"""The mastering policy: which system wins each field, per tenant (DESIGN decision 8, seed §9).

The spec's masters are the default. Overrides come from configuration, `.dlt/config.toml`:

    [transform.mastering]
    overrides = [
      { tenant = "*", entity = "Vendor", master = "platform" },                 # every tenant
      { tenant = "acme", entity = "Customer", field = "payment_terms", master = "platform" },
    ]

or the environment, as JSON: TRANSFORM__MASTERING__OVERRIDES='[{"entity": "Vendor", "master": "platform"}]'.
The most specific override wins: tenant and field, then tenant and entity, then any tenant and
field, then any tenant and entity. Fields QBO computes (`read_only`) stay QBO's whatever is asked;
asking otherwise is a configuration error, said at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pipelines.mapping.spec import LINES_FIELD, MappingSpec, Master, load_spec

ANY = "*"
CONFIG_KEY = "transform.mastering.overrides"
ENV_NAME = CONFIG_KEY.upper().replace(".", "__")


class PolicyError(ValueError):
    """Overrides that name what the spec does not map, or give the platform what QBO computes."""


class Override(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant: str = Field(ANY, min_length=1)
    entity: str
    field: str = ANY
    master: Literal["platform", "qbo"]

    @property
    def specificity(self) -> int:
        return (2 if self.tenant != ANY else 0) + (1 if self.field != ANY else 0)


class MasteringPolicy:
    def __init__(self, overrides: Sequence[Override] = (), spec: MappingSpec | None = None) -> None:
        self.spec = spec or load_spec()
        problems = []
        for o in overrides:
            entity = self.spec.entities.get(o.entity)
            if entity is None:
                problems.append(
                    f"entity {o.entity!r} is not mapped (mapped: {', '.join(self.spec.entities)})"
                )
                continue
            if o.field != ANY and o.field not in self.fields(o.entity):
                problems.append(f"{o.entity} has no field {o.field!r} ({', '.join(self.fields(o.entity))})")
            elif o.field != ANY and o.master == "platform" and entity.fields[o.field].read_only:
                problems.append(
                    f"{o.entity}.{o.field} is computed by QBO; it cannot be mastered by the platform"
                )
        if problems:
            raise PolicyError(f"{CONFIG_KEY}: " + "; ".join(problems))
        self.overrides = sorted(overrides, key=lambda o: o.specificity)

    def fields(self, entity: str) -> list[str]:
        spec = self.spec.entities[entity]
        return list(spec.fields) + ([LINES_FIELD] if spec.lines is not None else [])

    def master(self, tenant: str, entity: str, field: str) -> Master:
        spec = self.spec.entities[entity]
        if field in spec.fields and spec.fields[field].read_only:
            return "qbo"
        chosen: Master = spec.master_of(field)
        for o in self.overrides:  # least specific first: the last match is the most specific
            if o.entity == entity and o.tenant in (ANY, tenant) and o.field in (ANY, field):
                chosen = o.master
        return chosen

    def as_dbt_var(self) -> list[dict[str, Any]]:
        """The overrides as dbt reads them (`mastering_overrides`); dbt applies the same precedence."""
        return [o.model_dump() for o in self.overrides]
