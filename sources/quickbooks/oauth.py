"""OAuth 2.0 with Intuit: authorize URL, code exchange, refresh, revoke, and the signed `state`.

Works against Intuit's real endpoints and the local sandbox alike: both publish a discovery
document (reference/QBO_API.md §7), or the endpoints can be given explicitly. Facts it relies on:

- the token endpoint takes HTTP Basic client auth and a form body, answers JSON;
- refresh tokens rotate on every use: the caller must persist the `refresh_token` of each answer
  (tokens.py does, atomically);
- `x-include-refresh-token-hard-expires-in: true` makes Intuit include the 5-year hard expiry;
- `invalid_grant` means the consent is gone: only a person reconnecting the realm fixes it, so it
  becomes `ReconnectRequired`; `invalid_client` means the app's credentials are wrong (configuration).

No token and no client secret ever reaches an exception message or a log line: `TokenSet` hides its
tokens from repr, error texts are built from fixed wording plus `redact()`ed server text.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    retry_if_result,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)
from tenacity.wait import wait_base

from sources.quickbooks.errors import (
    QboError,
    ReconnectRequired,
    ServerError,
    TransportError,
    redact,
    retry_after_seconds,
    transport_reason,
)
from sources.quickbooks.settings import ACCOUNTING_SCOPE

log = logging.getLogger(__name__)

INTUIT_DISCOVERY_URL = "https://developer.intuit.com/.well-known/openid_configuration/"
INTUIT_SANDBOX_DISCOVERY_URL = "https://developer.intuit.com/.well-known/openid_sandbox_configuration/"
HARD_EXPIRY_HEADER = "x-include-refresh-token-hard-expires-in"

CLIENT_ID_SETTING = "sources.quickbooks.client_id (env SOURCES__QUICKBOOKS__CLIENT_ID)"
CLIENT_SECRET_SETTING = "sources.quickbooks.client_secret (env SOURCES__QUICKBOOKS__CLIENT_SECRET)"  # noqa: S105

# Intuit always sends x_refresh_token_expires_in; should it not, assume its documented rolling 101 days.
_DEFAULT_REFRESH_TTL = 8_726_400


def reconnect_hint(realm_id: str | None) -> str:
    """The command that reconnects a realm (consent again in the browser); `qbo connect` for any."""
    return f"qbo connect --realm {realm_id}" if realm_id else "qbo connect"


class OAuthError(QboError):
    """Intuit's token or revocation endpoint refused a request (an OAuth `error` other than the two below)."""


class OAuthConfigError(OAuthError):
    """`invalid_client`: the client id / secret are wrong or belong to another app; fix the configuration."""


class InvalidState(ValueError):
    """The OAuth `state` of a callback is malformed, forged (bad signature) or expired."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason  # "malformed" | "forged" | "expired"
        super().__init__(message)


# -- tokens ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenSet:
    """One token answer, with lifetimes turned into absolute UTC instants. Tokens never show in repr."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    access_token_expires_at: datetime
    refresh_token_expires_at: datetime
    refresh_token_hard_expires_at: datetime | None = None
    scopes: tuple[str, ...] = (ACCOUNTING_SCOPE,)
    realm_id: str | None = None
    id_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_response(
        cls,
        body: Mapping[str, Any],
        *,
        issued_at: datetime | None = None,
        scopes: Sequence[str] = (ACCOUNTING_SCOPE,),
        realm_id: str | None = None,
    ) -> TokenSet:
        """`issued_at` should be when the request was sent: lifetimes then err on the short side."""
        now = issued_at or datetime.now(UTC)
        access, refresh = body.get("access_token"), body.get("refresh_token")
        if not isinstance(access, str) or not access or not isinstance(refresh, str) or not refresh:
            raise OAuthError(
                "malformed_response", "Intuit's token answer has no access_token or refresh_token"
            )
        try:
            expires_in = float(body.get("expires_in", 3600))
            refresh_in = body.get("x_refresh_token_expires_in")
            if refresh_in is None:
                log.warning("token answer without x_refresh_token_expires_in; assuming 101 days")
                refresh_in = _DEFAULT_REFRESH_TTL
            refresh_in = float(refresh_in)
            hard_in = body.get("x_refresh_token_hard_expires_in")
            hard_in = float(hard_in) if hard_in is not None else None
        except (TypeError, ValueError):
            raise OAuthError(
                "malformed_response", "Intuit's token answer has non-numeric lifetimes"
            ) from None
        scope_text = body.get("scope")
        granted = tuple(scope_text.split()) if isinstance(scope_text, str) and scope_text else tuple(scopes)
        return cls(
            access_token=access,
            refresh_token=refresh,
            access_token_expires_at=now + timedelta(seconds=expires_in),
            refresh_token_expires_at=now + timedelta(seconds=refresh_in),
            refresh_token_hard_expires_at=now + timedelta(seconds=hard_in) if hard_in is not None else None,
            scopes=granted,
            realm_id=realm_id,
            id_token=body.get("id_token") if isinstance(body.get("id_token"), str) else None,
        )


@dataclass(frozen=True)
class Endpoints:
    authorization_endpoint: str
    token_endpoint: str
    revocation_endpoint: str
    userinfo_endpoint: str | None = None
    issuer: str | None = None

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Endpoints:
        missing = [
            k for k in ("authorization_endpoint", "token_endpoint", "revocation_endpoint") if not doc.get(k)
        ]
        if missing:
            raise OAuthError("bad_discovery", f"the OpenID discovery document lacks {', '.join(missing)}")
        return cls(
            authorization_endpoint=doc["authorization_endpoint"],
            token_endpoint=doc["token_endpoint"],
            revocation_endpoint=doc["revocation_endpoint"],
            userinfo_endpoint=doc.get("userinfo_endpoint"),
            issuer=doc.get("issuer"),
        )

    @classmethod
    def discover(cls, url: str, session: requests.Session | None = None, timeout: float = 30) -> Endpoints:
        http = session or requests.Session()
        try:
            response = http.get(url, headers={"Accept": "application/json"}, timeout=timeout)
        except requests.RequestException as exc:
            raise TransportError(
                "transport", f"could not fetch the OpenID discovery document {url}: {transport_reason(exc)}"
            ) from None
        if response.status_code != 200:
            raise OAuthError(
                str(response.status_code),
                f"the OpenID discovery document {url} answered HTTP {response.status_code}",
                status=response.status_code,
            )
        try:
            doc = response.json()
        except ValueError:
            raise OAuthError("bad_discovery", f"the OpenID discovery document {url} is not JSON") from None
        if not isinstance(doc, dict):
            raise OAuthError("bad_discovery", f"the OpenID discovery document {url} is not a JSON object")
        return cls.from_document(doc)


@dataclass(frozen=True)
class Callback:
    """What Intuit appends to the redirect URI: `code`, `state`, `realmId` (or `error`)."""

    code: str
    state: str
    realm_id: str


def parse_callback(url_or_query: str) -> Callback:
    """The callback's parameters; the consent being refused (`error=access_denied`) raises OAuthError."""
    query = urlsplit(url_or_query).query if "?" in url_or_query or "://" in url_or_query else url_or_query
    params = {k: v[0] for k, v in parse_qs(query.lstrip("?")).items()}
    if "error" in params:
        raise OAuthError(
            params["error"],
            f"the connection was not authorised: {redact(params.get('error_description', params['error']))}",
        )
    missing = [k for k in ("code", "state", "realmId") if not params.get(k)]
    if missing:
        raise OAuthError("invalid_callback", f"the OAuth callback lacks {', '.join(missing)}")
    return Callback(params["code"], params["state"], params["realmId"])


# -- the client -----------------------------------------------------------------------------------


class OAuthClient:
    """Intuit's OAuth 2.0 endpoints for one app (client id + secret + redirect URI).

    Give `discovery_url` (Intuit prod: INTUIT_DISCOVERY_URL; the sandbox:
    {base}/.well-known/openid_configuration), fetched once on first use, or `endpoints`.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        *,
        discovery_url: str | None = None,
        endpoints: Endpoints | None = None,
        session: requests.Session | None = None,
        timeout: float = 30,
        retries: int = 2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not client_id:
            raise OAuthConfigError(
                "invalid_client", f"no OAuth client id configured: set {CLIENT_ID_SETTING}"
            )
        if not client_secret:
            raise OAuthConfigError(
                "invalid_client", f"no OAuth client secret configured: set {CLIENT_SECRET_SETTING}"
            )
        if (discovery_url is None) == (endpoints is None):
            raise ValueError(
                f"give exactly one of discovery_url (Intuit: {INTUIT_DISCOVERY_URL}) and endpoints"
            )
        self.client_id = client_id
        self.__secret = client_secret
        self.redirect_uri = redirect_uri
        self.discovery_url = discovery_url
        self._endpoints = endpoints
        self._session = session or requests.Session()
        self.timeout = timeout
        self.retries = retries
        self.sleep = sleep

    def __repr__(self) -> str:
        where = self.discovery_url or (self._endpoints.token_endpoint if self._endpoints else "?")
        return f"OAuthClient(client_id={self.client_id!r}, endpoints={where!r})"

    def at(self, discovery_url: str) -> OAuthClient:
        """The same app at another QBO's OAuth endpoints (a realm connected against a sandbox)."""
        if discovery_url == self.discovery_url:
            return self
        return OAuthClient(
            self.client_id,
            self.__secret,
            self.redirect_uri,
            discovery_url=discovery_url,
            session=self._session,
            timeout=self.timeout,
            retries=self.retries,
            sleep=self.sleep,
        )

    @property
    def endpoints(self) -> Endpoints:
        if self._endpoints is None:
            assert self.discovery_url is not None
            self._endpoints = Endpoints.discover(self.discovery_url, self._session, self.timeout)
        return self._endpoints

    # the four operations ---------------------------------------------------------------------

    def authorize_url(self, state: str, scopes: Sequence[str] = (ACCOUNTING_SCOPE,)) -> str:
        """Where to send the person who connects a company; Intuit redirects back with code/state/realmId."""
        if isinstance(scopes, str):
            scopes = scopes.split()
        query = urlencode(
            {
                "client_id": self.client_id,
                "response_type": "code",
                "scope": " ".join(scopes),
                "redirect_uri": self.redirect_uri,
                "state": state,
            }
        )
        base = self.endpoints.authorization_endpoint
        return f"{base}{'&' if '?' in base else '?'}{query}"

    def exchange_code(
        self, code: str, realm_id: str, *, scopes: Sequence[str] = (ACCOUNTING_SCOPE,)
    ) -> TokenSet:
        """Trade the callback's authorization code for tokens (codes are single use: no retry)."""
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri}
        issued_at = datetime.now(UTC)
        body = self._token_request(form, realm_id, "authorization code", retries=0, sensitive=(code,))
        tokens = TokenSet.from_response(body, issued_at=issued_at, scopes=scopes, realm_id=realm_id)
        log.info("connected realm %s; access token valid until %s", realm_id, tokens.access_token_expires_at)
        return tokens

    def refresh(
        self,
        refresh_token: str,
        *,
        realm_id: str | None = None,
        scopes: Sequence[str] = (ACCOUNTING_SCOPE,),
    ) -> TokenSet:
        """New tokens for a refresh token. The answer's refresh token replaces the old one: persist it."""
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        issued_at = datetime.now(UTC)
        body = self._token_request(form, realm_id, "refresh token", self.retries, sensitive=(refresh_token,))
        tokens = TokenSet.from_response(body, issued_at=issued_at, scopes=scopes, realm_id=realm_id)
        log.info(
            "refreshed tokens of realm %s; access token valid until %s",
            realm_id or "?",
            tokens.access_token_expires_at,
        )
        return tokens

    def revoke(self, token: str) -> None:
        """Revoke a refresh (or access) token, which ends the whole consent at Intuit."""
        response = self._post(
            self.endpoints.revocation_endpoint,
            retries=self.retries,
            json={"token": token},
            headers={"Accept": "application/json", "Content-Type": "application/json"},
        )
        if response.status_code != 200:
            raise self._error(response, None, "token", sensitive=(token,))

    # plumbing ----------------------------------------------------------------------------------

    def _token_request(
        self, form: dict[str, str], realm_id: str | None, what: str, retries: int, sensitive: tuple[str, ...]
    ) -> dict[str, Any]:
        response = self._post(
            self.endpoints.token_endpoint,
            retries=retries,
            realm_id=realm_id,
            data=form,
            headers={"Accept": "application/json", HARD_EXPIRY_HEADER: "true"},
        )
        if response.status_code != 200:
            raise self._error(response, realm_id, what, sensitive)
        try:
            body = response.json()
        except ValueError:
            raise OAuthError(
                "malformed_response",
                "Intuit's token endpoint answered 200 with a body that is not JSON",
                intuit_tid=response.headers.get("intuit_tid"),
            ) from None
        if not isinstance(body, dict):
            raise OAuthError("malformed_response", "Intuit's token answer is not a JSON object")
        return body

    def _post(
        self, url: str, *, retries: int, realm_id: str | None = None, **kwargs: Any
    ) -> requests.Response:
        """POST with client auth; transport errors, 429 and 5xx are retried `retries` times with back-off.
        The last answer is returned whatever its status (the caller turns it into a typed error)."""
        auth = requests.auth.HTTPBasicAuth(self.client_id, self.__secret)
        of = f" for realm {realm_id}" if realm_id else ""

        def attempt() -> requests.Response:
            try:
                return self._session.post(url, auth=auth, timeout=self.timeout, **kwargs)
            except requests.RequestException as exc:
                raise TransportError(
                    "transport", f"could not reach the OAuth endpoint {url}{of}: {transport_reason(exc)}"
                ) from None

        retrying = Retrying(
            retry=retry_if_exception_type(TransportError) | retry_if_result(_overloaded),
            stop=stop_after_attempt(retries + 1),
            wait=_TOKEN_ENDPOINT_WAIT,
            sleep=self.sleep,
            retry_error_callback=_last_answer,  # not tenacity's RetryError
        )
        return retrying(attempt)

    def _error(
        self, response: requests.Response, realm_id: str | None, what: str, sensitive: tuple[str, ...]
    ) -> QboError:
        status = response.status_code
        tid = response.headers.get("intuit_tid")
        try:
            body = response.json()
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        error = str(body.get("error") or "")
        description = self._scrub(str(body.get("error_description") or ""), sensitive)
        realm = f"realm {realm_id}" if realm_id else "this realm"
        if error == "invalid_grant":
            if what == "authorization code":  # a code works once: consent again for a new one
                why = "the code expired, was already used or was issued for another redirect URI"
                advice = f"Start again for a new code: {reconnect_hint(realm_id)}"
            else:
                why = "the connection was revoked, expired or its refresh token was already used"
                advice = f"Reconnect the company (consent again in the browser): {reconnect_hint(realm_id)}"
            exc: QboError = ReconnectRequired(
                "invalid_grant",
                f"Intuit refused the {what} of {realm} (invalid_grant): {why}. {advice}",
                description,
                status=status,
                intuit_tid=tid,
            )
            exc.realm_id = realm_id  # type: ignore[attr-defined]
            return exc
        if error == "invalid_client" or (status == 401 and not error):
            return OAuthConfigError(
                "invalid_client",
                f"Intuit rejected the app's credentials (client id {self.client_id!r}): check "
                f"{CLIENT_ID_SETTING} and {CLIENT_SECRET_SETTING}; they must be the keys of the app "
                "the company was connected with",
                description,
                status=status,
                intuit_tid=tid,
            )
        if status >= 500 or status == 429:
            return ServerError(
                str(status),
                f"Intuit's OAuth endpoint answered HTTP {status}",
                description,
                status=status,
                intuit_tid=tid,
            )
        if error:
            return OAuthError(
                error,
                f"Intuit refused the {what} request of {realm} ({error})",
                description,
                status=status,
                intuit_tid=tid,
            )
        text = self._scrub(response.text[:300], sensitive)
        return OAuthError(
            str(status),
            f"Intuit's OAuth endpoint answered HTTP {status}",
            text,
            status=status,
            intuit_tid=tid,
        )

    def _scrub(self, text: str, sensitive: tuple[str, ...]) -> str:
        for value in (self.__secret, *sensitive):
            if value:
                text = text.replace(value, "[redacted]")
        return redact(text)


def _overloaded(response: requests.Response) -> bool:
    return response.status_code == 429 or response.status_code >= 500


def _last_answer(state: RetryCallState) -> requests.Response:
    """After the last attempt: its answer (a 429 or 5xx), or its TransportError raised."""
    assert state.outcome is not None
    return state.outcome.result()


class _RetryAfterHeader(wait_base):
    """The answer's Retry-After (capped), else the fallback wait."""

    def __init__(self, fallback: wait_base, cap: float) -> None:
        self.fallback = fallback
        self.cap = cap

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        answered = outcome is not None and not outcome.failed  # a transport error has no header
        retry_after = retry_after_seconds(outcome.result()) if answered else None
        return min(retry_after, self.cap) if retry_after is not None else self.fallback(retry_state)


# 0.5 s doubling up to 8 s (or Retry-After, at most 30 s), plus up to 0.25 s of jitter
_BACKOFF = wait_exponential(multiplier=0.5, max=8)
_TOKEN_ENDPOINT_WAIT = _RetryAfterHeader(_BACKOFF, cap=30.0) + wait_random(0, 0.25)


# -- signed state ---------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key(secret_key: str | bytes) -> bytes:
    key = secret_key.encode() if isinstance(secret_key, str) else bytes(secret_key)
    if len(key) < 16:
        raise ValueError("the state signing key must be at least 16 bytes (e.g. secrets.token_urlsafe(32))")
    return key


def _sign(key: bytes, payload: str) -> str:
    return _b64(hmac.new(key, b"qbo-oauth-state." + payload.encode("ascii"), hashlib.sha256).digest())


def make_state(tenant_id: str, secret_key: str | bytes, ttl: int = 600, *, now: float | None = None) -> str:
    """An opaque, URL-safe `state` naming the tenant, signed (HMAC-SHA256) and expiring after `ttl` s."""
    issued = time.time() if now is None else now
    payload = _b64(
        json.dumps(
            {"t": tenant_id, "exp": int(issued + ttl), "n": secrets.token_urlsafe(12)}, separators=(",", ":")
        ).encode()
    )
    return f"{payload}.{_sign(_key(secret_key), payload)}"


@dataclass(frozen=True)
class StateClaims:
    """What a verified `state` says: the tenant, its single-use nonce, and when it expires."""

    tenant_id: str
    nonce: str
    expires_at: datetime


_STATE_MAX = 512  # make_state's are ~150 characters; anything far longer is not one of ours
_STATE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
_MALFORMED = "the OAuth state is malformed (not one this service made); start the connection again"


def read_state(state: str, secret_key: str | bytes, *, now: float | None = None) -> StateClaims:
    """A `state`'s claims; InvalidState if it is malformed (any shape or character make_state never
    makes, checked before anything is decoded), forged (bad signature) or expired. The caller that
    acts on it must also spend its nonce once (`TokenStore.spend_state`)."""
    key = _key(secret_key)
    text = state if isinstance(state, str) else ""
    if not text or len(text) > _STATE_MAX or not _STATE_CHARS.issuperset(text) or text.count(".") != 1:
        raise InvalidState("malformed", _MALFORMED)
    payload, _, signature = text.partition(".")
    if not payload or not signature:
        raise InvalidState("malformed", _MALFORMED)
    if not hmac.compare_digest(_sign(key, payload).encode("ascii"), signature.encode("ascii")):
        raise InvalidState(
            "forged", "the OAuth state's signature does not match: it was altered or made with another key"
        )
    try:
        claims = json.loads(_unb64(payload))
        tenant_id, nonce, expires = claims["t"], claims["n"], float(claims["exp"])
        valid = isinstance(tenant_id, str) and isinstance(nonce, str) and tenant_id and 0 < len(nonce) <= 64
        expires_at = datetime.fromtimestamp(expires, UTC)
    except (ValueError, KeyError, TypeError, OverflowError, OSError):
        valid = False
    if not valid:
        raise InvalidState("malformed", _MALFORMED)
    current = time.time() if now is None else now
    if current >= expires:
        raise InvalidState(
            "expired",
            f"the OAuth state expired {int(current - expires)} s ago; "
            "start the connection again (qbo connect)",
        )
    return StateClaims(str(tenant_id), str(nonce), expires_at)


def verify_state(state: str, secret_key: str | bytes, *, now: float | None = None) -> str:
    """The tenant id a `state` was made for; InvalidState if it is malformed, forged or expired."""
    return read_state(state, secret_key, now=now).tenant_id
