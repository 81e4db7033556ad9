"""Everything the sandbox knows in one object (companies, config, tokens, limits, webhooks); the HTTP
layers (http_app.py and its routers) are views of it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sandbox import generator, oauth
from sandbox.clock import DEFAULT_TZ
from sandbox.limits_and_chaos import Chaos, RateLimiter, Stats
from sandbox.rules import Change, WriteRules
from sandbox.settings import SandboxConfig
from sandbox.store import Realm, Store
from sandbox.webhook_sender import WebhookEmitter


class Sandbox:
    """Everything the sandbox knows; the HTTP layers are views of it."""

    def __init__(
        self,
        config: SandboxConfig | None = None,
        store: Store | None = None,
        populate: Callable[..., dict[str, int]] | None = None,
    ) -> None:
        self._config = config or SandboxConfig()
        self._config_lock = threading.Lock()
        self.store = store or Store()
        self.webhooks = WebhookEmitter(lambda: self._config)
        self.rules = WriteRules(self.store, on_change=self._changed)
        self.tokens = oauth.TokenService(self.store, lambda: self._config)
        self.stats = Stats()
        self.limiter = RateLimiter()
        self.chaos = Chaos(self._config.faults)
        self._populate = populate

    @property
    def config(self) -> SandboxConfig:
        return self._config

    def configure(self, patch: dict[str, Any]) -> SandboxConfig:
        with self._config_lock:
            new = self._config.merged(patch)
            if "faults" in patch:  # setting faults (again) restarts the seeded sequence: reproducible runs
                self.chaos.reseed(new.faults)
            self._config = new
        return new

    def add_realm(self, realm_id: str, company: str, seed: int, tz: str = DEFAULT_TZ) -> dict[str, int]:
        populate = self._populate or _default_populate
        realm = Realm(realm_id, company, seed, tz)
        self.store.add_realm(realm, time.time())
        try:
            return populate(self.store, realm, company, seed)
        except BaseException:
            self.store.drop_realm(realm_id)
            raise

    def reset(self) -> None:
        self.store.reset()
        self.stats.reset()
        self.limiter.reset()

    def realm_ids(self) -> list[str]:
        return [r.realm_id for r in self.store.realms()]

    def client_of(self, token: str) -> str | None:
        grant, _ = self.tokens.access(token)
        return grant.client_id if grant else None

    def _changed(self, changes: list[Change]) -> None:
        self.webhooks.submit(changes)


def _default_populate(store: Store, realm: Realm, company: str, seed: int) -> dict[str, int]:
    return generator.populate(store, realm, company, seed)
