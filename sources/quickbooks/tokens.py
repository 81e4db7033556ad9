"""The token manager: valid access tokens for realms, over the encrypted store of `token_store.py`.

- **Refresh before expiry**: an access token closer to expiry than the margin (5 minutes) is
  refreshed; a per-process cache answers the rest without touching the database.
- **One refresher per realm across processes**: a refresh runs inside the store's write lock on the
  realm's row and reloads the row there: when another process has just refreshed, its fresh token
  is used and Intuit is not called. The rotated refresh token is written in that same transaction,
  so it is never lost between two processes.
- **`invalid_grant`** or an expired consent: the row is marked `reconnect_required` in that
  transaction and a `ReconnectRequired` says how to reconnect.
- **Hard expiry**: Intuit ends every consent after 5 years; warnings start 30 days before (urgent: 7).
- **A connection trusts nothing it is told** (`connect`): a realm already bound to another tenant is
  refused before the code is spent; after the exchange, the new token must open the claimed realm's
  CompanyInfo (QBO answers 401/403 for a token of another company, and Intuit's token answer names
  no realm), else the tokens are revoked, not stored.
"""

from __future__ import annotations

import hmac
import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from sources.quickbooks.client import QboClient, RetryPolicy, StaticTokens
from sources.quickbooks.errors import (
    AuthenticationError,
    AuthorizationError,
    NotFoundError,
    QboError,
    ReconnectRequired,
)
from sources.quickbooks.oauth import ACCOUNTING_SCOPE, OAuthClient, TokenSet, reconnect_hint
from sources.quickbooks.token_store import NotConnected, QboLocation, TokenRecord, TokenStore

log = logging.getLogger(__name__)

HARD_EXPIRY_NOTICE = timedelta(days=30)
HARD_EXPIRY_URGENT = timedelta(days=7)
_CONFIRM_RETRY = RetryPolicy(max_attempts=3, base_seconds=0.2, cap_seconds=2.0)


class ConnectionRefused(ValueError):
    """A connection was refused and nothing stored; `field` is the callback parameter at fault."""

    def __init__(self, field: str, reason: str, message: str) -> None:
        self.field = field
        self.reason = reason  # "realm_taken" | "realm_mismatch" | "realm_unconfirmed"
        super().__init__(message)


class TokenManager:
    """Valid access tokens for realms: refreshed when close to expiry, one refresher per realm at a time."""

    def __init__(
        self,
        store: TokenStore,
        oauth_client: OAuthClient,
        *,
        refresh_margin: float = 300,
        clock: Callable[[], datetime] | None = None,
        oauth_for: Callable[[TokenRecord], OAuthClient] | None = None,
    ) -> None:
        self.store = store
        self.oauth = oauth_client
        # the OAuth endpoints a stored realm's tokens belong to (the connector: where it was connected)
        self._oauth_for = oauth_for or (lambda _record: oauth_client)
        self.refresh_margin = timedelta(seconds=refresh_margin)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._cache: dict[str, tuple[str, datetime]] = {}  # realm -> (access token, expiry); per process
        self._cache_guard = threading.Lock()

    def __repr__(self) -> str:
        return f"TokenManager({self.store!r}, {self.oauth!r}, refresh_margin={self.refresh_margin})"

    # access tokens -----------------------------------------------------------------------------------

    def access_token(self, realm_id: str) -> str:
        """An access token valid for more than the margin, refreshing (under the lock) when needed."""
        now = self._clock()
        with self._cache_guard:
            cached = self._cache.get(realm_id)
        if cached is not None and cached[1] - now > self.refresh_margin:
            return cached[0]
        current = self.store.current(realm_id)
        if current is None:
            raise self._not_connected(realm_id)
        record, token = current
        if record.needs_reconnect:
            raise self._reconnect_error(record)
        if record.access_token_expires_at - now > self.refresh_margin:
            self._remember(realm_id, token, record.access_token_expires_at)
            return token
        return self._refresh(realm_id, rejected=None)

    def force_refresh(self, realm_id: str, rejected_access_token: str) -> str:
        """After a 401: refresh, unless the stored access token is no longer the rejected one."""
        with self._cache_guard:
            cached = self._cache.get(realm_id)
            if cached is not None and hmac.compare_digest(cached[0], rejected_access_token):
                del self._cache[realm_id]
        return self._refresh(realm_id, rejected=rejected_access_token)

    def _refresh(self, realm_id: str, rejected: str | None) -> str:
        failure: ReconnectRequired | None = None
        with self.store.locked(realm_id) as row:
            record = row.record  # reloaded inside the lock: another process may just have refreshed
            if record is None:
                raise self._not_connected(realm_id)
            if record.needs_reconnect:
                raise self._reconnect_error(record)
            now = self._clock()
            current = row.access_token()
            # good enough: not close to expiry and, after a 401, not the token that was rejected
            fresh = record.access_token_expires_at - now > self.refresh_margin and (
                rejected is None or not hmac.compare_digest(current, rejected)
            )
            if fresh:
                self._remember(realm_id, current, record.access_token_expires_at)
                return current
            expired = self._consent_expired(record, now)
            if expired:
                row.mark_reconnect(expired, now)
                failure = ReconnectRequired(
                    "refresh_token_expired",
                    f"realm {realm_id} must be reconnected: {expired}. Run: {reconnect_hint(realm_id)}",
                )
            else:
                try:
                    tokens = self._oauth_for(record).refresh(
                        row.refresh_token(), realm_id=realm_id, scopes=record.scopes
                    )
                except ReconnectRequired as exc:  # the mark is committed with this transaction
                    row.mark_reconnect(f"Intuit refused the refresh token ({exc.code})", now)
                    failure = exc
                else:
                    saved = row.write(record.tenant_id, tokens, self._clock())
                    self._remember(realm_id, tokens.access_token, saved.access_token_expires_at)
                    warning = _hard_expiry_warning(saved, now)
                    if warning:
                        log.warning("%s", warning)
                    return tokens.access_token
        assert failure is not None
        self._forget(realm_id)
        log.warning("realm %s needs reconnecting: %s", realm_id, failure.message)
        raise failure

    @staticmethod
    def _consent_expired(record: TokenRecord, now: datetime) -> str | None:
        hard = record.refresh_token_hard_expires_at
        if hard is not None and hard <= now:
            return f"the consent reached Intuit's 5-year limit on {hard:%Y-%m-%d}"
        if record.refresh_token_expires_at <= now:
            expired = record.refresh_token_expires_at
            return f"the refresh token expired on {expired:%Y-%m-%d} (unused for 100 days)"
        return None

    def _remember(self, realm_id: str, token: str, expires_at: datetime) -> None:
        with self._cache_guard:
            self._cache[realm_id] = (token, expires_at)

    def _forget(self, realm_id: str) -> None:
        with self._cache_guard:
            self._cache.pop(realm_id, None)

    def _not_connected(self, realm_id: str) -> NotConnected:
        self._forget(realm_id)
        return NotConnected(
            "not_connected", f"realm {realm_id} is not connected; connect it: {reconnect_hint(realm_id)}"
        )

    def _reconnect_error(self, record: TokenRecord) -> ReconnectRequired:
        self._forget(record.realm_id)
        return ReconnectRequired(
            "reconnect_required",
            f"realm {record.realm_id} must be reconnected ({record.status_reason or 'consent lost'}, "
            f"since {record.updated_at:%Y-%m-%d %H:%M} UTC). Run: {reconnect_hint(record.realm_id)}",
        )

    # warnings ----------------------------------------------------------------------------------------

    def hard_expiry_warning(self, realm_id: str) -> str | None:
        """A warning when the realm's consent reaches Intuit's 5-year limit within 30 days (urgent: 7)."""
        record = self.store.get(realm_id)
        if record is None:
            raise self._not_connected(realm_id)
        return _hard_expiry_warning(record, self._clock())

    def hard_expiry_warnings(self) -> dict[str, str]:
        now = self._clock()
        found = {r.realm_id: _hard_expiry_warning(r, now) for r in self.store.list()}
        return {realm: text for realm, text in found.items() if text}

    # connections -------------------------------------------------------------------------------------

    def connect(
        self,
        tenant_id: str,
        code: str,
        realm_id: str,
        *,
        scopes: Sequence[str] = (ACCOUNTING_SCOPE,),
        api_base_url: str | None = None,
    ) -> TokenRecord:
        """Finish the authorization-code flow: exchange the code and store the tokens, with where they
        were made (`api_base_url` and the OAuth client's discovery document: later commands talk to that
        QBO). The record's scopes are those Intuit's answer names, else `scopes`: the ones the consent
        URL asked for.

        A realm bound to another tenant is refused before the code is spent. With `api_base_url` (every
        caller but tests of the store), the tokens must open `realm_id`'s CompanyInfo before they are
        stored: the realmId of a redirect is only a claim."""
        self.check_owner(tenant_id, realm_id)
        tokens = self.oauth.exchange_code(code, realm_id, scopes=scopes)
        location = None
        if api_base_url is not None:
            self._confirm_realm(tokens, realm_id, api_base_url)
            if self.oauth.discovery_url is not None:
                location = QboLocation.of(api_base_url, self.oauth.discovery_url)
        return self.save(tenant_id, realm_id, tokens, location)

    def check_owner(self, tenant_id: str, realm_id: str) -> None:
        """ConnectionRefused if the realm is connected for another tenant (naming neither it nor a token)."""
        owner = self.store.owner(realm_id)
        if owner is not None and owner != tenant_id:
            raise ConnectionRefused(
                "realmId",
                "realm_taken",
                f"QuickBooks company {realm_id} is already connected for another tenant; nothing was "
                f"changed. Disconnect it there first (qbo disconnect --realm {realm_id}), then connect again",
            )

    def _confirm_realm(self, tokens: TokenSet, realm_id: str, api_base_url: str) -> None:
        """The new access token must open the claimed realm; otherwise revoke the tokens and refuse."""
        client = QboClient(realm_id, api_base_url, StaticTokens(tokens.access_token), retry=_CONFIRM_RETRY)
        try:
            client.read("CompanyInfo", realm_id)
            return
        except (AuthenticationError, AuthorizationError, NotFoundError):
            reason = "realm_mismatch"
            message = (
                f"the authorization QuickBooks gave is not for company {realm_id} (the realmId of the "
                "redirect): nothing was stored and the authorization was revoked. Start again from "
                "qbo connect or the connect URL"
            )
        except QboError as exc:
            reason = "realm_unconfirmed"
            message = (
                f"QuickBooks could not confirm that the authorization is for company {realm_id} "
                f"({exc.code}): nothing was stored and the authorization was revoked. Try again from "
                "qbo connect or the connect URL"
            )
        try:
            self.oauth.revoke(tokens.refresh_token)
        except Exception as exc:  # best effort: the tokens are dropped unstored either way
            log.warning("could not revoke the refused authorization for realm %s: %s", realm_id, exc)
        log.info("connection to realm %s refused: %s", realm_id, reason)  # the caller reports it
        raise ConnectionRefused("realmId", reason, message)

    def save(
        self, tenant_id: str, realm_id: str, tokens: TokenSet, location: QboLocation | None = None
    ) -> TokenRecord:
        self._forget(realm_id)
        return self.store.save(tenant_id, realm_id, tokens, location=location)

    def delete(self, realm_id: str) -> bool:
        self._forget(realm_id)
        return self.store.delete(realm_id)

    def disconnect(self, realm_id: str) -> bool:
        """Revoke the consent at Intuit (best effort) and delete the stored tokens."""
        with self.store.locked(realm_id) as row:
            if row.record is None:
                return False
            try:
                self._oauth_for(row.record).revoke(row.refresh_token())
            except Exception as exc:  # best effort: the local delete happens anyway
                log.warning("could not revoke the consent of realm %s at Intuit: %s", realm_id, exc)
            row.delete()
        self._forget(realm_id)
        return True

    def list(self, tenant_id: str | None = None) -> list[TokenRecord]:  # last: the name shadows `list`
        return self.store.list(tenant_id)


def _hard_expiry_warning(record: TokenRecord, now: datetime) -> str | None:
    hard = record.refresh_token_hard_expires_at
    if hard is None:
        return None
    left = hard - now
    hint = reconnect_hint(record.realm_id)
    when = f"{hard:%Y-%m-%d %H:%M} UTC"
    if left <= timedelta(0):
        return (
            f"The QuickBooks connection of realm {record.realm_id} (tenant {record.tenant_id}) reached "
            f"Intuit's 5-year limit on {when} and no longer works. Reconnect it now: {hint}"
        )
    days = left.days
    span = f"{days} day{'s' if days != 1 else ''}" if days else "less than a day"
    if left <= HARD_EXPIRY_URGENT:
        return (
            f"URGENT: the QuickBooks connection of realm {record.realm_id} (tenant {record.tenant_id}) stops "
            f"working in {span} ({when}, Intuit's 5-year limit) and syncs will stop. Reconnect it now: {hint}"
        )
    if left <= HARD_EXPIRY_NOTICE:
        return (
            f"The QuickBooks connection of realm {record.realm_id} (tenant {record.tenant_id}) reaches "
            f"Intuit's 5-year limit in {span} ({when}). Reconnect it before then: {hint}"
        )
    return None
