"""A sync in its own process, so a test can SIGKILL it mid-run: python -m tests.quickbooks.sync_child ..."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pipelines.sync import sync_realm
from sources.quickbooks.client import QboClient, StaticTokens

if __name__ == "__main__":
    base_url, realm_id, warehouse, pipelines_dir = sys.argv[1:5]
    client = QboClient(realm_id, base_url, StaticTokens(os.environ["QBO_TEST_ACCESS_TOKEN"]))
    result = sync_realm(client, warehouse=Path(warehouse), pipelines_dir=Path(pipelines_dir))
    print(f"synced {sum(result.rows.values())} rows in {result.requests} requests")
    print("imported:", " ".join(m for m in ("dlt", "duckdb", "pandas", "pyarrow") if m in sys.modules))
