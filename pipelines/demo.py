"""`qbo demo` / `make demo`: the product end to end on an embedded sandbox, no credentials needed.

Today it serves the demo company, connects through the OAuth flow and reads every entity over the
API; each issue that lands extends it (sync, transform, push, report).
"""

from __future__ import annotations

from typing import TextIO

import requests

from sandbox.app import Sandbox
from sandbox.serve import FIRST_REALM, describe
from sandbox.server import running
from sources.quickbooks.catalog import ENTITIES, Kind


def run(company: str = "demo", seed: int = 1, out: TextIO | None = None) -> dict[str, int]:
    """Serve, connect, count; returns the per-entity counts it printed."""
    write = out.write if out else lambda _: None
    sb = Sandbox()
    realm_id = str(FIRST_REALM)
    write(f"generating the {company} company (seed {seed}) ...\n")
    sb.add_realm(realm_id, company, seed)
    with running(sb) as server:
        write(describe(sb, server.base_url))
        tokens = server.connect(realm_id)
        write(f"connected to realm {realm_id} through OAuth (access token valid {tokens['expires_in']} s)\n")
        session = requests.Session()
        session.headers.update(
            {"Authorization": f"Bearer {tokens['access_token']}", "Accept": "application/json"}
        )
        counts: dict[str, int] = {}
        for name, spec in sorted(ENTITIES.items()):
            if spec.kind is Kind.SINGLETON:
                continue
            where = " WHERE Active IN (true, false)" if spec.has_active else ""
            response = session.get(
                f"{server.api_url(realm_id)}/query",
                params={"query": f"SELECT COUNT(*) FROM {name}{where}", "minorversion": 75},
                timeout=30,
            )
            response.raise_for_status()
            counts[name] = int(response.json()["QueryResponse"].get("totalCount", 0))
        info = session.get(f"{server.api_url(realm_id)}/companyinfo/{realm_id}", timeout=30).json()
    write(f"\n{info['CompanyInfo']['CompanyName']}: records served over the API\n")
    for name, count in counts.items():
        write(f"  {name:<16}{count:>10,}\n")
    write(f"  {'total':<16}{sum(counts.values()):>10,}\n")
    return counts
