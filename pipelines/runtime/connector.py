"""Wiring: settings -> OAuth client, token store and manager, request budgets, per-realm clients.

One `Connector` per process; everything it builds is shared by the realms it serves, and nothing
of one realm is used for another (budgets and tokens are keyed by realm). Each part is imported when it
is first built: `qbo ask` needs the store, not Redis, OAuth or the HTTP client.

A realm is served by the QBO it was connected to (production, Intuit's sandbox or a local sandbox:
its API base URL and OAuth endpoints are stored with its tokens), so `--qbo-base-url` is given once,
at `qbo connect`. Given again, it wins, and a realm connected elsewhere is named in a warning.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING

from pipelines.runtime.settings import ConfigError, Settings

if TYPE_CHECKING:
    from pipelines.store.integration_store import IntegrationStore
    from sources.quickbooks.budget import BudgetBackend, RequestBudget
    from sources.quickbooks.client import QboClient, RetryPolicy
    from sources.quickbooks.oauth import OAuthClient
    from sources.quickbooks.token_store import QboLocation, TokenRecord, TokenStore
    from sources.quickbooks.tokens import TokenManager

log = logging.getLogger(__name__)


class TenantRealmError(LookupError):
    def __init__(self, message: str, ambiguous: bool = False) -> None:
        super().__init__(message)
        self.ambiguous = ambiguous  # connected to several realms, none named


@dataclass
class Connector:
    settings: Settings
    retry: RetryPolicy | None = None  # how hard clients retry 429/5xx/transport (default: RetryPolicy())
    _budgets: dict[str, RequestBudget] = field(default_factory=dict)
    _oauth_at: dict[str, OAuthClient] = field(default_factory=dict)  # discovery URL -> client
    _told: set[str] = field(default_factory=set)  # realms whose stored URL --qbo-base-url overrode

    @cached_property
    def oauth(self) -> OAuthClient:
        from sources.quickbooks.oauth import OAuthClient

        self.settings.require("client_id", "client_secret")
        return OAuthClient(
            self.settings.client_id or "",
            self.settings.client_secret or "",
            self.settings.redirect_uri,
            discovery_url=self.settings.discovery_url,
        )

    @cached_property
    def token_store(self) -> TokenStore:
        """The encrypted token store; keys that are missing or not Fernet keys (the example's placeholder)
        are a `ConfigError` naming the setting and `qbo keygen`, wherever a command first opens it."""
        from sources.quickbooks.token_store import KeyProblem, TokenStore

        self.settings.require("token_encryption_keys")
        try:
            return TokenStore(self.settings.store_url, keys=list(self.settings.token_encryption_keys))
        except KeyProblem as exc:
            raise ConfigError(str(exc)) from None

    @cached_property
    def tokens(self) -> TokenManager:
        from sources.quickbooks.tokens import TokenManager

        self.settings.require(
            "client_id", "client_secret", "token_encryption_keys"
        )  # all that is missing, at once
        return TokenManager(self.token_store, self.oauth, oauth_for=self._oauth_for)

    def location(self, realm_id: str) -> QboLocation | None:
        """Where the realm was connected (None: not connected, or stored before locations were kept)."""
        return self.token_store.location(realm_id)

    def base_url(self, realm_id: str) -> str:
        """The QBO API base URL of a realm: where it was connected, unless `--qbo-base-url` was given
        (it wins; a realm connected elsewhere is named once in a warning)."""
        stored = self.location(realm_id)
        if stored is None:
            return self.settings.base_url
        if not self.settings.base_url_given:
            return stored.api_base_url
        if stored.api_base_url != self.settings.base_url and realm_id not in self._told:
            self._told.add(realm_id)
            log.warning(
                "realm %s: using --qbo-base-url %s, not %s where it was connected",
                realm_id,
                self.settings.base_url,
                stored.label,
            )
        return self.settings.base_url

    def at_connection_of(self, realm_id: str) -> Connector:
        """A connector pointed at the QBO the realm was connected to (to reconnect it there); this one
        when `--qbo-base-url` was given or nothing is stored."""
        stored = self.location(realm_id)
        if stored is None or self.settings.base_url_given:
            return self
        moved = replace(self.settings, base_url=stored.api_base_url, discovery_url=stored.discovery_url)
        return Connector(moved, retry=self.retry)

    def _oauth_for(self, record: TokenRecord) -> OAuthClient:
        """The OAuth endpoints a realm's refresh token belongs to: those it was connected at."""
        stored = record.location
        if stored is None or self.settings.base_url_given:
            return self.oauth
        if stored.discovery_url not in self._oauth_at:
            self._oauth_at[stored.discovery_url] = self.oauth.at(stored.discovery_url)
        return self._oauth_at[stored.discovery_url]

    @cached_property
    def store(self) -> IntegrationStore:
        from pipelines.store.integration_store import IntegrationStore

        return IntegrationStore(self.settings.store_url)

    @cached_property
    def budget_backend(self) -> BudgetBackend:
        from sources.quickbooks.budget import open_backend

        return open_backend(self.settings.budget_backend_url)

    def budget(self, realm_id: str) -> RequestBudget:
        from sources.quickbooks.budget import RequestBudget

        if realm_id not in self._budgets:
            app = self.settings.client_id or "app"
            self._budgets[realm_id] = RequestBudget(app, realm_id, self.budget_backend)
        return self._budgets[realm_id]

    def client(self, realm_id: str) -> QboClient:
        from sources.quickbooks.client import QboClient

        return QboClient(
            realm_id, self.base_url(realm_id), self.tokens, budget=self.budget(realm_id), retry=self.retry
        )

    def connections(self) -> list[TokenRecord]:
        return self.token_store.list()

    def tenant_realms(self) -> dict[str, str]:
        """Each tenant's connected realm, for platform records that name none; tenants connected to
        several realms are left out (their records must say which). No token store: no tenants."""
        if not self.settings.token_encryption_keys:
            return {}
        by_tenant: dict[str, set[str]] = {}
        for record in self.connections():
            by_tenant.setdefault(record.tenant_id, set()).add(record.realm_id)
        return {tenant: next(iter(realms)) for tenant, realms in by_tenant.items() if len(realms) == 1}

    def realm_of(self, tenant_id: str, realm_id: str | None = None) -> str:
        """The realm a tenant's record goes to: the one it names (which must be the tenant's), else the
        tenant's only connected realm."""
        realms = sorted(r.realm_id for r in self.token_store.list(tenant_id))
        if realm_id is not None and realm_id in realms:
            return realm_id
        if realm_id is None and len(realms) == 1:
            return realms[0]
        if realm_id is not None or not realms:
            where = f"realm {realm_id}" if realm_id else "QuickBooks"
            raise TenantRealmError(f"tenant {tenant_id!r} is not connected to {where}")
        raise TenantRealmError(
            f"tenant {tenant_id!r} is connected to realms {', '.join(realms)}: say which", ambiguous=True
        )

    def realms(self, wanted: list[str] | None = None) -> list[str]:
        """The realms to work on: the ones asked for (each must be connected), else every connected one."""
        connected = {r.realm_id: r for r in self.connections()}
        if not wanted:
            return sorted(r for r, rec in connected.items() if not rec.needs_reconnect)
        unknown = [r for r in wanted if r not in connected]
        if unknown:
            raise LookupError(
                f"realm(s) {', '.join(unknown)} not connected; connect with `qbo connect`"
                f" (connected: {', '.join(sorted(connected)) or 'none'})"
            )
        return list(wanted)
