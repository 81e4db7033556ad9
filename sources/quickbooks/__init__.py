"""QuickBooks Online: the HTTP client, OAuth, the token store, the request budget, typed errors, webhooks,
and the dlt source (`source.py`: `quickbooks`, `quickbooks_window`, `quickbooks_ids`, `quickbooks_docs`).

The source is exported here as the dlt verified sources do, but loaded on first use: the client, the
tokens and the budget serve `qbo ask`, `qbo status` and the gateway, which must not wait for dlt.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

SOURCE_NAMES = frozenset(
    {"COLUMNS", "entity_table", "quickbooks", "quickbooks_window", "quickbooks_ids", "quickbooks_docs"}
)


def table_name(entity: str) -> str:
    """The warehouse table of an entity, as dlt's snake_case naming makes it (BillPayment -> bill_payment)."""
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(entity))


def __getattr__(name: str) -> Any:
    if name in SOURCE_NAMES:
        return getattr(import_module("sources.quickbooks.source"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
