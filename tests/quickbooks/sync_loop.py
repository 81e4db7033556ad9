"""One of several processes syncing the same realm through the real token manager (test helper).

python -m tests.quickbooks.sync_loop BASE_URL REALM STORE_URL WORKDIR ROUNDS PAUSE
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from pipelines.runtime.connector import Connector
from pipelines.runtime.settings import Settings
from pipelines.sync import sync_all

if __name__ == "__main__":
    base_url, realm_id, store_url, workdir, rounds, pause = sys.argv[1:7]
    settings = Settings(
        client_id=os.environ["QBO_TEST_CLIENT_ID"],
        client_secret=os.environ["QBO_TEST_CLIENT_SECRET"],
        token_encryption_keys=(os.environ["QBO_TEST_KEY"],),
        store_url=store_url,
        budget_url=f"sqlite:///{Path(workdir) / 'budget.sqlite'}",
        warehouse=Path(workdir) / "w.duckdb",
    ).with_sandbox(base_url)
    connector = Connector(settings)
    for _ in range(int(rounds)):
        sync_all(connector, [realm_id])
        time.sleep(float(pause))
