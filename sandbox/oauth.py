"""Intuit's OAuth 2.0 endpoints, on the sandbox host (reference/QBO_API.md §7).

The authorize endpoint consents at once (there is no person to click), so the whole
authorization-code flow runs unattended. Refresh tokens rotate on every use; the previous one
keeps working for a short grace period and is then refused with `invalid_grant`, which is exactly
the behaviour that loses tokens in connectors that do not persist the rotated one.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from sandbox.store import Store

ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"


@dataclass(frozen=True)
class Grant:
    client_id: str
    realm_id: str
    scope: str


def discovery(base_url: str) -> dict[str, Any]:
    return {
        "issuer": f"{base_url}/op/v1",
        "authorization_endpoint": f"{base_url}/connect/oauth2",
        "token_endpoint": f"{base_url}/oauth2/v1/tokens/bearer",
        "userinfo_endpoint": f"{base_url}/v1/openid_connect/userinfo",
        "revocation_endpoint": f"{base_url}/v2/oauth2/tokens/revoke",
        "jwks_uri": f"{base_url}/op/v1/jwks",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile", "address", "phone"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"],
    }


class TokenService:
    """Issues, rotates, checks and revokes tokens; state lives in the sandbox store."""

    def __init__(self, store: Store, settings_getter: Any) -> None:
        self.store = store
        self._settings = settings_getter

    @property
    def settings(self) -> Any:
        return self._settings().oauth

    def issue_code(self, client_id: str, realm_id: str, redirect_uri: str, scope: str) -> str:
        code = "AB" + secrets.token_urlsafe(24)
        self.store.execute(
            "INSERT INTO oauth_codes VALUES (?, ?, ?, ?, ?, ?)",
            (code, client_id, realm_id, redirect_uri, scope, time.time() + self.settings.code_ttl),
        )
        return code

    def exchange_code(
        self, client_id: str, code: str, redirect_uri: str, hard: bool
    ) -> dict[str, Any] | None:
        with self.store.transaction() as db:
            row = db.execute(
                "SELECT client_id, realm_id, redirect_uri, scope, expires_at FROM oauth_codes WHERE code = ?",
                (code,),
            ).fetchone()
            db.execute("DELETE FROM oauth_codes WHERE code = ?", (code,))  # single use
            if row is None or row[0] != client_id or row[2] != redirect_uri or row[4] < time.time():
                return None
            grant_id = uuid.uuid4().hex
            return self._issue(
                db, Grant(client_id, row[1], row[3]), grant_id, time.time() + self.settings.hard_expiry, hard
            )

    def refresh(self, client_id: str, refresh_token: str, hard: bool) -> dict[str, Any] | None:
        now = time.time()
        with self.store.transaction() as db:
            row = db.execute(
                "SELECT client_id, realm_id, scope, grant_id, expires_at, hard_expires_at, rotated_at "
                "FROM oauth_tokens WHERE token = ? AND kind = 'refresh'",
                (refresh_token,),
            ).fetchone()
            if row is None or row[0] != client_id:
                return None
            _, realm_id, scope, grant_id, expires_at, hard_expires_at, rotated_at = row
            if expires_at < now or hard_expires_at < now:
                return None
            if rotated_at is not None and now - rotated_at > self.settings.refresh_grace:
                return None
            db.execute(
                "UPDATE oauth_tokens SET rotated_at = COALESCE(rotated_at, ?) WHERE token = ?",
                (now, refresh_token),
            )
            return self._issue(db, Grant(client_id, realm_id, scope), grant_id, hard_expires_at, hard)

    def _issue(
        self, db: Any, grant: Grant, grant_id: str, hard_expires_at: float, hard: bool
    ) -> dict[str, Any]:
        now = time.time()
        access = "eyJ" + secrets.token_urlsafe(40)
        refresh = f"RT1-{secrets.randbelow(90) + 10}-H0-{int(now)}{secrets.token_hex(10)}"
        refresh_expires = min(now + self.settings.refresh_token_ttl, hard_expires_at)
        db.executemany(
            "INSERT INTO oauth_tokens VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)",
            [
                (
                    access,
                    "access",
                    grant.client_id,
                    grant.realm_id,
                    grant.scope,
                    grant_id,
                    now + self.settings.access_token_ttl,
                    hard_expires_at,
                ),
                (
                    refresh,
                    "refresh",
                    grant.client_id,
                    grant.realm_id,
                    grant.scope,
                    grant_id,
                    refresh_expires,
                    hard_expires_at,
                ),
            ],
        )
        body: dict[str, Any] = {
            "access_token": access,
            "refresh_token": refresh,
            "token_type": "bearer",
            "expires_in": self.settings.access_token_ttl,
            "x_refresh_token_expires_in": int(refresh_expires - now),
        }
        if hard:
            body["x_refresh_token_hard_expires_in"] = int(hard_expires_at - now)
        return body

    def revoke(self, client_id: str, token: str) -> bool:
        with self.store.transaction() as db:
            row = db.execute(
                "SELECT grant_id, client_id FROM oauth_tokens WHERE token = ?", (token,)
            ).fetchone()
            if row is None or row[1] != client_id:
                return False
            db.execute("DELETE FROM oauth_tokens WHERE grant_id = ?", (row[0],))
            return True

    def access(self, token: str) -> tuple[Grant | None, str]:
        """The grant behind an access token, or None and why (for the 401 detail)."""
        row = self.store.execute(
            "SELECT client_id, realm_id, scope, expires_at FROM oauth_tokens "
            "WHERE token = ? AND kind = 'access'",
            (token,),
        ).fetchone()
        if row is None:
            return None, "Token invalid"
        if row[3] < time.time():
            return None, "Token expired"
        return Grant(row[0], row[1], row[2]), ""


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str | None, str | None]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None, None
        return user, password
    return form.get("client_id"), form.get("client_secret")


async def _form(request: Request) -> dict[str, str]:
    """application/x-www-form-urlencoded, parsed without pulling in a multipart library."""
    return dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))


def _oauth_error(status: int, error: str, description: str | None = None) -> JSONResponse:
    body = {"error_description": description, "error": error} if description else {"error": error}
    return JSONResponse(body, status_code=status)


def router(tokens: TokenService, realm_ids: Any, settings_getter: Any) -> APIRouter:
    api = APIRouter()

    @api.get("/.well-known/openid_configuration")
    @api.get("/.well-known/openid_configuration/")
    @api.get("/.well-known/openid_sandbox_configuration")
    @api.get("/.well-known/openid_sandbox_configuration/")
    def openid_configuration(request: Request) -> JSONResponse:
        return JSONResponse(discovery(str(request.base_url).rstrip("/")))

    @api.get("/connect/oauth2", response_model=None)
    def authorize(request: Request) -> RedirectResponse | HTMLResponse:
        q = request.query_params
        oauth = settings_getter().oauth
        problem = None
        redirect_uri = q.get("redirect_uri", "")
        if q.get("client_id") != oauth.client_id:
            problem = "unknown client_id"
        elif q.get("response_type") != "code":
            problem = "response_type must be code"
        elif ACCOUNTING_SCOPE not in q.get("scope", "").split():
            problem = f"scope must include {ACCOUNTING_SCOPE}"
        elif urlsplit(redirect_uri).scheme not in ("http", "https"):
            problem = "redirect_uri must be an http(s) URL"
        realms = realm_ids()
        realm_id = q.get("realmId") or (realms[0] if realms else None)
        if problem is None and realm_id not in realms:
            problem = f"no such company {realm_id!r}; create one with POST /_sandbox/realms"
        if problem:
            return HTMLResponse(f"<h1>Authorization failed</h1><p>{problem}</p>", status_code=400)
        code = tokens.issue_code(oauth.client_id, realm_id, redirect_uri, q.get("scope", ""))
        params = {"code": code, "realmId": realm_id}
        if "state" in q:
            params["state"] = q["state"]
        separator = "&" if "?" in redirect_uri else "?"
        return RedirectResponse(f"{redirect_uri}{separator}{urlencode(params)}", status_code=302)

    @api.post("/oauth2/v1/tokens/bearer")
    async def token(request: Request) -> JSONResponse:
        form = await _form(request)
        client_id, secret = _client_credentials(request, form)
        oauth = settings_getter().oauth
        if client_id != oauth.client_id or not secrets.compare_digest(secret or "", oauth.client_secret):
            return _oauth_error(401, "invalid_client")
        hard = request.headers.get("x-include-refresh-token-hard-expires-in", "").lower() == "true"
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            issued = tokens.exchange_code(client_id, form.get("code", ""), form.get("redirect_uri", ""), hard)
        elif grant_type == "refresh_token":
            issued = tokens.refresh(client_id, form.get("refresh_token", ""), hard)
        else:
            return _oauth_error(400, "unsupported_grant_type")
        if issued is None:
            return _oauth_error(400, "invalid_grant", "Token invalid")
        return JSONResponse(issued, headers={"Cache-Control": "no-store"})

    @api.post("/v2/oauth2/tokens/revoke")
    async def revoke(request: Request) -> JSONResponse:
        if request.headers.get("content-type", "").startswith("application/json"):
            body = await request.json()
            form = {"token": str(body.get("token", ""))} if isinstance(body, dict) else {}
        else:
            form = await _form(request)
        client_id, secret = _client_credentials(request, form)
        oauth = settings_getter().oauth
        if client_id != oauth.client_id or not secrets.compare_digest(secret or "", oauth.client_secret):
            return _oauth_error(401, "invalid_client")
        if not form.get("token"):
            return _oauth_error(400, "invalid_request", "token is required")
        tokens.revoke(client_id, form["token"])  # RFC 7009: unknown tokens are not an error
        return JSONResponse({})

    @api.get("/v1/openid_connect/userinfo")
    def userinfo() -> JSONResponse:
        return JSONResponse(
            {
                "sub": "sandbox-user",
                "givenName": "Sandbox",
                "familyName": "Bookkeeper",
                "email": "bookkeeper@sandbox.invalid",
                "emailVerified": True,
            }
        )

    @api.get("/op/v1/jwks")
    def jwks() -> JSONResponse:
        return JSONResponse({"keys": []})

    return api
