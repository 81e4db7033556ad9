"""Settings are read without importing dlt (pipelines/runtime/config_values.py), the way dlt reads them:
the environment, then .dlt/secrets.toml, then .dlt/config.toml. Each case is asked of both, in a fresh
process per side so that neither caches the other's files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.runtime.config_values import ConfigFileError, lookup

ROOT = Path(__file__).resolve().parents[1]
KEYS = [
    ("sources.quickbooks.client_id", False),
    ("sources.quickbooks.client_id", True),
    ("sources.quickbooks.client_secret", True),
    ("sources.quickbooks.store_url", False),
    ("sources.quickbooks.token_encryption_keys", True),
    ("warehouse.url", True),
    ("warehouse.url", False),
    ("retention.events_days", False),
    ("transform.mastering.overrides", False),
    ("sources.quickbooks.missing", False),
]
ASK = """
import json, sys
keys = json.loads(sys.argv[2])
if sys.argv[1] == "dlt":
    import dlt
    get = lambda key, secret: (dlt.secrets if secret else dlt.config).get(key)
else:
    from pipelines.runtime.config_values import lookup
    get = lambda key, secret: lookup(key, secret=secret)
print(json.dumps([get(key, secret) for key, secret in keys], default=str))
"""


def answers(side: str, cwd: Path, env: dict[str, str]) -> list[object]:
    done = subprocess.run(
        [sys.executable, "-c", ASK, side, json.dumps(KEYS)],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result: list[object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_lookup_agrees_with_dlt_on_files_environment_and_the_global_directory(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / ".dlt").mkdir(parents=True)
    (project / ".dlt" / "config.toml").write_text(
        '[sources.quickbooks]\nclient_id = "from-config"\nstore_url = "sqlite:///config.sqlite"\n'
        "[retention]\nevents_days = 30\n"
        '[[transform.mastering.overrides]]\ntenant = "t"\nentity = "Vendor"\nmaster = "platform"\n'
        '[warehouse]\nurl = "postgresql://config@h/db"\n',
        encoding="utf-8",
    )
    (project / ".dlt" / "secrets.toml").write_text(
        '[sources.quickbooks]\nclient_id = "from-secrets"\nclient_secret = "s3cret"\n'
        'token_encryption_keys = "a-key"\n[warehouse]\nurl = "postgresql://g@h/db"\n',
        encoding="utf-8",
    )
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "WAREHOUSE__", "RETENTION__"))
    }
    env |= {"RUNTIME__DLTHUB_TELEMETRY": "false"}
    from_files = answers("ours", project, env)
    assert from_files == answers("dlt", project, env)
    assert from_files[:3] == ["from-secrets", "from-secrets", "s3cret"]
    assert from_files[4:7] == ["a-key", "postgresql://g@h/db", "postgresql://g@h/db"]

    env |= {"SOURCES__QUICKBOOKS__CLIENT_ID": "from-env", "RETENTION__EVENTS_DAYS": "7"}
    from_env = answers("ours", project, env)
    assert from_env == answers("dlt", project, env)
    assert from_env[0] == "from-env" and from_env[7] == "7"


def test_a_settings_file_that_is_not_toml_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".dlt").mkdir()
    (tmp_path / ".dlt" / "config.toml").write_text("[sources.quickbooks\nclient_id = 1\n", encoding="utf-8")
    monkeypatch.setenv("DLT_PROJECT_DIR", str(tmp_path))
    with pytest.raises(ConfigFileError, match=r"config.toml is not valid TOML .* fix or remove it"):
        lookup("sources.quickbooks.client_id")
