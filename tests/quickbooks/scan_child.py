"""Full syncs of several realms in their own process, drawing on a budget file shared with other
processes: python -m tests.quickbooks.scan_child BASE_URL BUDGET_FILE WORKDIR REALM [REALM ...]

Tokens come as QBO_TEST_TOKEN_<realm>; QBO_TEST_PAGE_SIZE shrinks pages so a small company needs many
requests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pipelines.sync import sync_realm
from sources.quickbooks import settings
from sources.quickbooks.budget import RequestBudget, open_backend
from sources.quickbooks.client import QboClient, RetryPolicy, StaticTokens

# the sandbox's "minute" is 2 s in the test: 6 a second stays inside its 20 per 2 s with room for the
# requests a loaded machine delays between their permit and their arrival (as 500/min leaves QBO)
PER_SECOND, PER_MINUTE = 6, 360

if __name__ == "__main__":
    base_url, budget_file, workdir, *realms = sys.argv[1:]
    settings.MAX_RESULTS = int(os.environ.get("QBO_TEST_PAGE_SIZE", settings.MAX_RESULTS))
    backend = open_backend(f"sqlite:///{budget_file}")
    for realm_id in realms:
        # 8 in flight, not 10: the sandbox counts a request until after its last byte has gone, and the
        # next process may send in between
        limits = {"per_minute": PER_MINUTE, "per_second": PER_SECOND, "concurrent": 8}
        budget = RequestBudget("qbo-sandbox-client", realm_id, backend, **limits)
        token = StaticTokens(os.environ[f"QBO_TEST_TOKEN_{realm_id}"])
        client = QboClient(realm_id, base_url, token, budget=budget, retry=RetryPolicy(max_attempts=1))
        result = sync_realm(
            client, warehouse=Path(workdir) / "warehouse.duckdb", pipelines_dir=Path(workdir) / "pipelines"
        )
        print(f"realm {realm_id}: {sum(result.rows.values())} rows in {result.requests} requests", flush=True)
