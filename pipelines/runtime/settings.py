"""Settings for the jobs, resolved the dlt way: CLI option > environment > .dlt/secrets.toml > config.toml.

Keys live in `[sources.quickbooks]` (env `SOURCES__QUICKBOOKS__<KEY>`). A missing or bad value is
reported with the key, the environment variable and what to do, never with a secret's value.
The warehouse is a DuckDB file (the default) or a PostgreSQL URL: `--warehouse`, `[warehouse] url`
(env `WAREHOUSE__URL`, secrets.toml too: it may hold a password) or `[sources.quickbooks] warehouse`,
in that order; a URL's password is never printed (`redact_url`). Below them all, the warehouse, store
and dlt state `qbo demo` recorded in var/defaults.toml (`record_defaults`), so that after `make demo`
every command reads the demo's data without flags; `Settings.warehouse_source` says where it came from.
The files are read as dlt reads them, without importing dlt (config_values.py): a `qbo` command that
needs no pipeline starts fast.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pipelines.runtime.config_values import ConfigFileError, lookup
from sources.quickbooks import settings as qbo

SECTION = "sources.quickbooks"
VAR = Path("var")
DEFAULTS_FILE = VAR / "defaults.toml"
# where the recorded defaults live instead (a path), or "none": neither read nor written (the test suite
# sets it, so that `make demo` run by a test does not become every later test's warehouse)
DEFAULTS_ENV = "QBO_DEFAULTS_FILE"


def defaults_file() -> Path | None:
    """The file of recorded defaults: `DEFAULTS_FILE`, or what QBO_DEFAULTS_FILE names; None when off."""
    named = os.environ.get(DEFAULTS_ENV)
    if named is None:
        return DEFAULTS_FILE
    return None if named.strip().lower() in ("", "none") else Path(named)


_RECORDED = ("warehouse", "store_url", "pipelines_dir")


class ConfigError(ValueError):
    """A setting is missing or wrong; the message names it and says how to set it."""


WAREHOUSE_URL_KEY = "warehouse.url"
WAREHOUSE_URL_ENV = "WAREHOUSE__URL"
POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2")
WAREHOUSE_FORMS = (
    "a DuckDB file path (var/warehouse.duckdb) or a PostgreSQL URL "
    "(postgresql://user[:password]@host[:port]/database, or postgres://...)"
)
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
_SECRET_PARAMS = {"password", "sslpassword", "passfile"}


def redact_url(url: str) -> str:
    """The URL as it may be printed or logged: its password (in the userinfo or the query) as ***."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{host}" if ":" in userinfo else f"{user}@{host}"
    query = urlencode([(k, "***" if k in _SECRET_PARAMS else v) for k, v in parse_qsl(parts.query)])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def warehouse_location(value: str | Path, where: str) -> tuple[Path, str | None]:
    """A warehouse setting as (DuckDB file, None) or (unused default file, PostgreSQL URL).

    A value with `scheme://` is a URL: PostgreSQL's is kept (as postgresql://), any other scheme is
    refused naming `where`, so a URL never becomes a directory named after its scheme (issue 20).
    The refusal names the scheme only: the value may hold a password."""
    if isinstance(value, Path):
        return value, None
    text = str(value).strip()
    found = _SCHEME.match(text)
    if found is None:
        return Path(text), None
    scheme = found.group(1).lower()
    if scheme not in POSTGRES_SCHEMES:
        raise ConfigError(f"{where}: a {scheme}:// warehouse is not supported; use {WAREHOUSE_FORMS}")
    url = "postgresql://" + text[found.end() :]
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a bad port raises here, not at the first load
    except ValueError:
        raise ConfigError(f"{where}: {redact_url(url)} is not a valid URL; use {WAREHOUSE_FORMS}") from None
    if not parts.hostname or not parts.path.strip("/"):
        raise ConfigError(
            f"{where}: {redact_url(url)} must name a host and a database; use {WAREHOUSE_FORMS}"
        )
    return VAR / "warehouse.duckdb", url


def recorded_defaults(path: Path | None = None) -> dict[str, str]:
    """What `record_defaults` wrote (`recorded_by` and the keys of _RECORDED), or {} without the file."""
    path = path or defaults_file()
    if path is None:
        return {}
    try:
        with open(path, "rb") as handle:
            table = tomllib.load(handle).get("defaults", {})
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML ({exc}); delete it (`qbo demo` rewrites it)") from None
    return {k: str(v) for k, v in table.items() if k in (*_RECORDED, "recorded_by") and v not in (None, "")}


def record_defaults(recorded_by: str, path: Path | None = None, **values: str | Path | None) -> Path | None:
    """Record the project's default warehouse, store and dlt state (atomically: a reader sees the old
    file or the new one). Flags, the environment and .dlt/ settings still come first. None: recording
    is off (QBO_DEFAULTS_FILE=none)."""
    path = path or defaults_file()
    if path is None:
        return None
    unknown = set(values) - set(_RECORDED)
    if unknown:
        raise ValueError(f"cannot record {', '.join(sorted(unknown))}; only {', '.join(_RECORDED)}")
    lines = [
        f"# written by `{recorded_by}`: what qbo commands use when no flag, environment variable or",
        "# .dlt/ setting names one. Delete this file to go back to var/warehouse.duckdb.",
        "[defaults]",
        f"recorded_by = {json.dumps(recorded_by)}",
        *(f"{k} = {json.dumps(str(v))}" for k, v in values.items() if v is not None),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(temporary, path)
    return path


def _source(env: str) -> str:
    """Where a setting came from, for the line naming the warehouse: the environment or .dlt/."""
    return f"env {env}" if env in os.environ else ".dlt/ settings"


def _warehouse_url_setting() -> Any:
    """`[warehouse] url`: the environment and secrets.toml first (a URL with a password), then config."""
    for secret in (True, False):
        value = _setting(WAREHOUSE_URL_KEY, secret)
        if value not in (None, ""):
            return value
    return None


def _env_name(key: str) -> str:
    return f"{SECTION}.{key}".upper().replace(".", "__")


def _lookup(key: str, secret: bool = False) -> Any:
    return _setting(f"{SECTION}.{key}", secret)


def _setting(key: str, secret: bool = False) -> Any:
    """A configured value (config_values.lookup), a settings file that is not TOML as `ConfigError`."""
    try:
        return lookup(key, secret=secret)
    except ConfigFileError as exc:
        raise ConfigError(str(exc)) from None


def _api_keys(raw: Any) -> dict[str, frozenset[str]]:
    """`{key = ["tenant", ...]}` (a TOML table, or JSON in the environment) as key -> tenants."""
    where = f"{SECTION}.gateway_api_keys (env {_env_name('gateway_api_keys')})"
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raise ConfigError(f'{where} must be JSON like {{"<key>": ["<tenant>"]}}') from None
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must map each API key to the tenants it may act for")
    keys: dict[str, frozenset[str]] = {}
    for n, (key, tenants) in enumerate(raw.items()):
        names = [tenants] if isinstance(tenants, str) else tenants
        if len(str(key)) < 16 or not isinstance(names, list | tuple) or not names:
            raise ConfigError(
                f"{where}: key #{n + 1} must be at least 16 characters and list at least one tenant "
                '(or "*" for every tenant); generate one with `qbo keygen`'
            )
        keys[str(key)] = frozenset(str(t) for t in names)
    return keys


@dataclass(frozen=True)
class Settings:
    base_url: str = qbo.PRODUCTION_BASE_URL
    discovery_url: str = qbo.PRODUCTION_DISCOVERY_URL
    base_url_given: bool = False  # --qbo-base-url was given: it wins over where a realm was connected
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    redirect_uri: str = "http://127.0.0.1:8799/callback"
    token_encryption_keys: tuple[str, ...] = field(default=(), repr=False)
    state_secret: str | None = field(default=None, repr=False)
    store_url: str = f"sqlite:///{VAR / 'integration.sqlite'}"
    budget_url: str | None = None  # None: a SQLite file beside the store; redis:// or postgresql:// to share
    warehouse: Path = VAR / "warehouse.duckdb"  # the DuckDB file, unless warehouse_url is set
    warehouse_url: str | None = field(default=None, repr=False)  # postgresql://...: the warehouse instead
    warehouse_source: str = "the default"  # where the warehouse setting came from, as messages say it
    pipelines_dir: Path | None = None  # dlt's working state; default: beside the warehouse, one per warehouse
    tenant_id: str = "default"
    webhook_verifier_token: str | None = field(default=None, repr=False)
    # gateway API key -> the tenants it may act for ("*": every tenant)
    gateway_api_keys: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)
    # where the outbox is POSTed after each delivery (pipelines/deliver/callback.py); None: the feed only
    platform_callback_url: str | None = None
    platform_callback_secret: str | None = field(default=None, repr=False)

    @classmethod
    def resolve(cls, **overrides: Any) -> Settings:
        """Defaults < var/defaults.toml (recorded by `qbo demo`) < config.toml < secrets.toml <
        environment < the given overrides (CLI options)."""
        values: dict[str, Any] = {}
        for key in (
            "base_url",
            "discovery_url",
            "client_id",
            "redirect_uri",
            "store_url",
            "budget_url",
            "warehouse",
            "pipelines_dir",
            "tenant_id",
            "platform_callback_url",
        ):
            value = _lookup(key)
            if value not in (None, ""):
                values[key] = value
        for key in (
            "client_id",
            "client_secret",
            "state_secret",
            "webhook_verifier_token",
            "platform_callback_secret",
        ):
            value = _lookup(key, secret=True)
            if value not in (None, ""):
                values[key] = str(value)
        keys = _lookup("token_encryption_keys", secret=True)
        if keys:
            values["token_encryption_keys"] = tuple(
                k.strip() for k in (keys.split(",") if isinstance(keys, str) else keys) if str(k).strip()
            )
        api_keys = _lookup("gateway_api_keys", secret=True)
        if api_keys:
            values["gateway_api_keys"] = _api_keys(api_keys)
        chosen: tuple[Any, str] | None = None
        source = "the default"
        recorded = recorded_defaults()
        if recorded.get("warehouse"):
            chosen = (recorded["warehouse"], f"warehouse in {defaults_file()}")
            source = f"recorded by {recorded.get('recorded_by', 'qbo demo')}"
        if recorded.get("store_url") and "store_url" not in values:
            values["store_url"] = recorded["store_url"]
        if "warehouse" in values:
            chosen = (values.pop("warehouse"), f"{SECTION}.warehouse (env {_env_name('warehouse')})")
            source = _source(_env_name("warehouse"))
        url = _warehouse_url_setting()
        if url is not None:
            chosen = (url, f"{WAREHOUSE_URL_KEY} (env {WAREHOUSE_URL_ENV})")
            source = _source(WAREHOUSE_URL_ENV)
        if overrides.get("warehouse_url") is not None:
            chosen = (overrides["warehouse_url"], "warehouse_url")
            source = "given"
        if overrides.get("warehouse") is not None:
            chosen = (overrides["warehouse"], "--warehouse")
            source = "--warehouse"
        if source.startswith("recorded") and recorded.get("pipelines_dir") and "pipelines_dir" not in values:
            values["pipelines_dir"] = recorded["pipelines_dir"]  # that warehouse's dlt state, no other's
        values["warehouse_source"] = source
        values.update({k: v for k, v in overrides.items() if v is not None and not k.startswith("warehouse")})
        if chosen is not None:
            values["warehouse"], values["warehouse_url"] = warehouse_location(*chosen)
        if "pipelines_dir" in values:
            values["pipelines_dir"] = Path(values["pipelines_dir"])
        settings = cls(**values)
        if settings.base_url != settings.base_url.rstrip("/") or not settings.base_url.startswith("http"):
            raise ConfigError(
                f"{SECTION}.base_url must be an http(s) URL without a trailing slash, "
                f"got {settings.base_url!r} (env {_env_name('base_url')})"
            )
        callback = settings.platform_callback_url
        if callback is not None and not callback.startswith(("https://", "http://")):
            raise ConfigError(
                f"{SECTION}.platform_callback_url must be an http(s) URL "
                f"(env {_env_name('platform_callback_url')}); leave it unset to use the changes feed only"
            )
        return settings

    def with_sandbox(self, base_url: str) -> Settings:
        """The same settings pointed at a local sandbox (its API, OAuth and test credentials)."""
        return replace(self, base_url=base_url, discovery_url=f"{base_url}/.well-known/openid_configuration")

    def require(self, *keys: str) -> None:
        missing = [k for k in keys if not getattr(self, k)]
        if missing:
            lines = [f"  {SECTION}.{k} (env {_env_name(k)})" for k in missing]
            raise ConfigError(
                "missing settings:\n"
                + "\n".join(lines)
                + "\nset them in .dlt/secrets.toml (see .dlt/secrets.toml.example) or the environment"
            )

    @property
    def pipelines_path(self) -> Path:
        """dlt's local state belongs to one warehouse: another warehouse must not inherit its checkpoints.
        A PostgreSQL warehouse's is under var/, keyed by its URL without the password."""
        if self.pipelines_dir is not None:
            return self.pipelines_dir
        if self.warehouse_url is not None:
            parts = urlsplit(self.warehouse_url)
            host = parts.netloc.rsplit("@", 1)[-1]
            user = parts.username or ""
            key = hashlib.sha256(f"{user}@{host}{parts.path}".encode()).hexdigest()[:12]
            return VAR / f"warehouse-pg-{key}.pipelines"
        return self.warehouse.with_suffix(".pipelines")

    @property
    def warehouse_target(self) -> Path | str:
        """What the loads open: the PostgreSQL URL when set, else the DuckDB file."""
        return self.warehouse_url or self.warehouse

    @property
    def warehouse_label(self) -> str:
        """The warehouse as messages name it: the file, or the URL without its password."""
        return redact_url(self.warehouse_url) if self.warehouse_url else str(self.warehouse)

    @property
    def budget_backend_url(self) -> str:
        return self.budget_url or f"sqlite:///{VAR / 'budget.sqlite'}"
