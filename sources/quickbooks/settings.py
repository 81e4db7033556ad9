"""Constants of the QBO API and of how this connector uses it (sources: reference/QBO_API.md)."""

from __future__ import annotations

PRODUCTION_BASE_URL = "https://quickbooks.api.intuit.com"
INTUIT_SANDBOX_BASE_URL = "https://sandbox-quickbooks.api.intuit.com"
PRODUCTION_DISCOVERY_URL = "https://developer.intuit.com/.well-known/openid_configuration/"

MINOR_VERSION = 75  # values below 75 are ignored by QBO since 2025-08 (§9)
REQUEST_TIMEOUT = 60.0

MAX_RESULTS = 1000  # the largest page a query returns (§1)
MAX_BATCH_ITEMS = 30  # items in one /batch call (§3)
CDC_MAX_OBJECTS = 1000  # objects in one CDC answer (§2)
CDC_LOOKBACK_DAYS = 30  # CDC refuses (or silently truncates) older changedSince (§2)
CDC_SAFETY_DAYS = 29  # we re-scan rather than ask CDC for more than this

CURSOR_OVERLAP_SECONDS = 300  # re-read this much before the last checkpoint; merge on (realm_id, Id) dedups
