"""A push in its own process, so a test can SIGKILL it mid-batch: python -m tests.push.push_child SETTINGS"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pipelines.push.batch import push_all
from pipelines.runtime.connector import Connector
from pipelines.runtime.settings import Settings

if __name__ == "__main__":
    values = json.loads(sys.argv[1])
    for key in ("warehouse", "pipelines_dir"):
        values[key] = Path(values[key])
    values["token_encryption_keys"] = tuple(values["token_encryption_keys"])
    push_all(Connector(Settings(**values)), echo=lambda line: print(line, flush=True))
