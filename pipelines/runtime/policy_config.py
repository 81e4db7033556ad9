"""The mastering policy as configured (`[transform.mastering] overrides` in .dlt/config.toml, or env
TRANSFORM__MASTERING__OVERRIDES as JSON), validated: the transform, the push and the gateway judge with it.
Apart from settings.py because the policy needs the mapping spec, which only those commands load."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from pipelines.mapping.policy import CONFIG_KEY, ENV_NAME, MasteringPolicy, Override, PolicyError
from pipelines.runtime.config_values import ConfigFileError, lookup
from pipelines.runtime.settings import ConfigError


def mastering_policy(raw: Iterable[Any] | None = None) -> MasteringPolicy:
    """The policy configured in .dlt/config.toml (or the environment), validated."""
    if raw is None:
        try:
            raw = lookup(CONFIG_KEY) or []
        except ConfigFileError as exc:
            raise ConfigError(str(exc)) from None
    if isinstance(raw, str):  # from the environment: TRANSFORM__MASTERING__OVERRIDES='[{...}]'
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{CONFIG_KEY} (env {ENV_NAME}) is not a JSON list: {exc.msg}") from None
    if not isinstance(raw, list):
        raise ConfigError(f"{CONFIG_KEY} must be a list of {{tenant, entity, field, master}}")
    overrides = []
    for n, item in enumerate(raw):
        try:
            overrides.append(Override.model_validate(item))
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ConfigError(
                f"{CONFIG_KEY}[{n}]: {problems}; expected {{tenant, entity, field, master}}"
            ) from None
    try:
        return MasteringPolicy(overrides)
    except PolicyError as exc:
        raise ConfigError(str(exc)) from None
