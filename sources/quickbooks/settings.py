"""Constants of the QBO API and of how this connector uses it (sources: reference/QBO_API.md)."""

from __future__ import annotations

from urllib.parse import urlsplit

ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"  # the one OAuth scope the connector asks for

PRODUCTION_BASE_URL = "https://quickbooks.api.intuit.com"
INTUIT_SANDBOX_BASE_URL = "https://sandbox-quickbooks.api.intuit.com"
PRODUCTION_DISCOVERY_URL = "https://developer.intuit.com/.well-known/openid_configuration/"

MINOR_VERSION = 75  # values below 75 are ignored by QBO since 2025-08 (§9)
REQUEST_TIMEOUT = 60.0

MAX_RESULTS = 1000  # the largest page a query returns (§1)
MAX_BATCH_ITEMS = 30  # items in one /batch call (§3)
MAX_IN_FLIGHT = 10  # requests in flight per realm and app (§6): a scan's workers
CDC_MAX_OBJECTS = 1000  # objects in one CDC answer (§2)
CDC_LOOKBACK_DAYS = 30  # CDC refuses (or silently truncates) older changedSince (§2)
CDC_SAFETY_DAYS = 29  # we re-scan rather than ask CDC for more than this

CURSOR_OVERLAP_SECONDS = 300  # re-read this much before the last checkpoint; merge on (realm_id, Id) dedups

# where a connection was made (stored with its tokens, shown by `qbo status`)
PRODUCTION = "production"
INTUIT_SANDBOX = "intuit_sandbox"
LOCAL_SANDBOX = "local_sandbox"
OTHER = "other"
ENVIRONMENT_LABELS = {
    PRODUCTION: "production",
    INTUIT_SANDBOX: "Intuit sandbox",
    LOCAL_SANDBOX: "local sandbox",
    OTHER: "other QBO endpoint",
}
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def environment_of(base_url: str) -> str:
    """Which QBO a base URL is: Intuit's production or sandbox API, a sandbox on this machine, or other."""
    url = base_url.rstrip("/")
    if url == PRODUCTION_BASE_URL:
        return PRODUCTION
    if url == INTUIT_SANDBOX_BASE_URL:
        return INTUIT_SANDBOX
    return LOCAL_SANDBOX if urlsplit(url).hostname in _LOOPBACK_HOSTS else OTHER
