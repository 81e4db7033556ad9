"""Who is reviewing: sign-in with a gateway API key and a name, a signed session cookie, CSRF tokens.

The console is a browser app, so the API key is shown once (at sign-in) and a session stands for it
afterwards: an HMAC-SHA256 signed cookie (HttpOnly, SameSite=Lax, 8 hours) holding the reviewer's name,
the key's tenants and a per-session CSRF token that every form echoes back. The signing key is derived
from the OAuth state secret (or the first token-encryption key) so that sessions survive a restart,
with a separate derivation so that a session can never be replayed as an OAuth `state`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from pipelines.runtime.settings import Settings
from service.auth import ALL_TENANTS

SESSION_COOKIE = "qbo_review"
PRESESSION_COOKIE = "qbo_review_signin"  # carries the sign-in form's CSRF token, before any session
SESSION_TTL = 8 * 3600
SIGNIN_TTL = 3600
COOKIE_PATH = "/review"
_DOMAIN = b"qbo-elt review console session v1"
_NAME = re.compile(r"^[^\x00-\x1f\x7f]{1,128}$")


class Signer:
    """`payload.mac` tokens with an expiry: the few lines of itsdangerous the console needs."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def sign(self, payload: Mapping[str, Any], ttl: int, now: float | None = None) -> str:
        body = json.dumps({**payload, "exp": int((now or time.time()) + ttl)}, separators=(",", ":"))
        encoded = _b64(body.encode())
        return f"{encoded}.{_b64(self._mac(encoded))}"

    def unsign(self, token: str | None, now: float | None = None) -> dict[str, Any] | None:
        """The payload of a token this signer made and that has not expired; None for anything else."""
        if not token or token.count(".") != 1 or len(token) > 8192:
            return None
        encoded, mac = token.split(".")
        try:
            if not hmac.compare_digest(_unb64(mac), self._mac(encoded)):
                return None
            payload = json.loads(_unb64(encoded))
        except ValueError:
            return None
        if not isinstance(payload, dict) or not isinstance(payload.get("exp"), int):
            return None
        return payload if payload["exp"] > (now or time.time()) else None

    def fingerprint(self, key: str) -> str:
        """Names an API key in a session without holding it (a keyed hash: useless without the secret)."""
        return hmac.new(self._secret, b"key|" + key.encode(), hashlib.sha256).hexdigest()[:24]

    def _mac(self, encoded: str) -> bytes:
        return hmac.new(self._secret, encoded.encode("ascii"), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise ValueError("not base64") from exc


def session_secret(settings: Settings) -> bytes:
    """Derived from a configured secret (sessions outlive a restart), else random for this process."""
    base = settings.state_secret or (
        settings.token_encryption_keys[0] if settings.token_encryption_keys else None
    )
    if not base:
        return secrets.token_bytes(32)
    return hmac.new(base.encode(), _DOMAIN, hashlib.sha256).digest()


@dataclass(frozen=True)
class Session:
    reviewer: str
    tenants: frozenset[str]
    csrf: str
    key: str  # the API key's fingerprint

    @property
    def scope(self) -> frozenset[str] | None:
        """The tenants to ask the store for; None: every tenant (a "*" key)."""
        return None if ALL_TENANTS in self.tenants else self.tenants

    def may(self, tenant_id: str | None) -> bool:
        return tenant_id is not None and (ALL_TENANTS in self.tenants or tenant_id in self.tenants)

    def allowed(self, tenants: Collection[str]) -> list[str]:
        return sorted(t for t in tenants if self.may(t))


class Sessions:
    """Sign-in against the gateway's API keys, and the session cookie's round trip."""

    def __init__(self, settings: Settings) -> None:
        self.signer = Signer(session_secret(settings))
        self._keys = [
            (key.encode(), frozenset(tenants)) for key, tenants in settings.gateway_api_keys.items()
        ]
        self._fingerprints = {self.signer.fingerprint(key) for key in settings.gateway_api_keys}

    def sign_in(self, name: str, api_key: str) -> tuple[Session | None, str | None]:
        """(the new session, None), or (None, what was wrong) — never saying which keys exist."""
        name = " ".join((name or "").split())
        if not _NAME.match(name):
            return None, "Enter your name (up to 128 characters): every decision is recorded with it."
        candidate = (api_key or "").strip().encode("utf-8", "replace")
        found: frozenset[str] | None = None
        for key, tenants in self._keys:  # every key compared: the time says nothing of which matched
            if hmac.compare_digest(key, candidate):
                found = tenants
        if not candidate or found is None:
            return None, "That API key is not valid."
        if not found:
            return None, "That API key is bound to no tenant."
        fingerprint = self.signer.fingerprint(candidate.decode())
        return Session(name, found, secrets.token_urlsafe(24), fingerprint), None

    def cookie(self, session: Session) -> str:
        payload = {"r": session.reviewer, "t": sorted(session.tenants), "c": session.csrf, "k": session.key}
        return self.signer.sign(payload, SESSION_TTL)

    def read(self, cookie: str | None) -> Session | None:
        payload = self.signer.unsign(cookie)
        if payload is None or payload.get("k") not in self._fingerprints:  # a key no longer configured
            return None
        reviewer, tenants, csrf = payload.get("r"), payload.get("t"), payload.get("c")
        if not isinstance(reviewer, str) or not reviewer.strip() or not isinstance(csrf, str):
            return None
        if not isinstance(tenants, list) or not all(isinstance(t, str) for t in tenants):
            return None
        return Session(reviewer, frozenset(tenants), csrf, payload["k"])

    def signin_token(self) -> tuple[str, str]:
        """(the cookie, the form's token) guarding the sign-in form itself against login CSRF."""
        token = secrets.token_urlsafe(24)
        return self.signer.sign({"s": token}, SIGNIN_TTL), token

    def signin_token_ok(self, cookie: str | None, presented: str | None) -> bool:
        payload = self.signer.unsign(cookie)
        expected = payload.get("s") if payload else None
        return isinstance(expected, str) and csrf_ok(expected, presented)


def csrf_ok(expected: str, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(expected.encode(), (presented or "").encode())
