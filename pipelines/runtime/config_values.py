"""dlt's configuration, read the way `dlt.config` and `dlt.secrets` read it, without importing dlt.

Importing dlt costs over a second, and `qbo ask`, `qbo status` or `qbo --help` need nothing of it but
their settings. The lookup is dlt's (tests/test_config_values.py compares the two): a key
`sources.quickbooks.client_id` is the environment variable `SOURCES__QUICKBOOKS__CLIENT_ID`, then (a
secret only) the file `/run/secrets/sources--quickbooks--client-id`, then `[sources.quickbooks]
client_id` in `.dlt/secrets.toml`, then (not a secret) in `.dlt/config.toml`; `.dlt/` is in the working
directory or `DLT_PROJECT_DIR`, and the same files in dlt's global directory (`~/.dlt`, `/var/dlt` for
root) come after the project's.
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

SECRET_STORAGE = Path("/run/secrets")


def project_dir() -> Path:
    return Path(os.environ.get("DLT_PROJECT_DIR", os.getcwd())) / ".dlt"


def global_dir() -> Path:
    """dlt's global directory (dlt.common.runtime.run_context.global_dir)."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/dlt")
    home = Path.home()
    if not os.access(home, os.W_OK):
        return Path(tempfile.gettempdir()) / "dlt"
    if "XDG_DATA_HOME" in os.environ and not (home / ".dlt").is_dir():
        return Path(os.environ["XDG_DATA_HOME"]) / "dlt"
    return home / ".dlt"


def env_name(key: str) -> str:
    return key.upper().replace(".", "__")


def lookup(key: str, *, secret: bool = False) -> Any:
    """The value of a dotted key, or None: what `dlt.secrets.get(key)` (secret) or `dlt.config.get(key)`
    returns. Environment values are text; TOML values keep their TOML types."""
    name = env_name(key)
    if secret:
        stored = SECRET_STORAGE / name.lower().replace("_", "-")
        if stored.is_dir():
            stored = stored / stored.name
        try:
            value = stored.read_text(encoding="utf-8")
        except OSError:
            pass
        else:
            os.environ[name] = value.strip()  # as dlt does, so that forked processes see it
            return value
    if name in os.environ:
        return os.environ[name]
    files = ("secrets.toml",) if secret else ("secrets.toml", "config.toml")
    for file in files:
        for folder in (project_dir(), global_dir()):
            value = _find(_document(folder / file), key.split("."))
            if value is not None:
                return value
    return None


def _find(document: dict[str, Any], path: list[str]) -> Any:
    node: Any = document
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _document(path: Path) -> dict[str, Any]:
    try:
        stat = path.stat()
    except OSError:
        return {}
    return _parsed(str(path), stat.st_mtime_ns, stat.st_size)


class ConfigFileError(ValueError):
    """A settings file that is not TOML: named, with the parser's line, instead of being ignored."""


@cache
def _parsed(path: str, _mtime: int, _size: int) -> dict[str, Any]:
    """A TOML file's content, read once per version of the file."""
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except OSError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError(f"{path} is not valid TOML ({exc}); fix or remove it") from None
