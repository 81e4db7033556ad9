"""Sandbox configuration: what it accepts, how strict it is, how badly it behaves on purpose.

Every knob is settable at start-up (`qbo sandbox` options or `create_app(SandboxConfig(...))`) and at
run time (`POST /_sandbox/config` with a partial document). Limits and faults are off by default.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_CLIENT_ID = "qbo-sandbox-client"
DEFAULT_CLIENT_SECRET = "qbo-sandbox-secret"  # noqa: S105 - the published local test credential
DEFAULT_VERIFIER = "qbo-sandbox-verifier"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class OAuthSettings(_Section):
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    access_token_ttl: int = Field(3600, ge=1, description="seconds; lower it to make tokens expire in tests")
    refresh_token_ttl: int = Field(8_726_400, ge=1, description="rolling expiry, 101 days like Intuit")
    hard_expiry: int = Field(157_680_000, ge=1, description="5-year cap on a consent (2025 policy)")
    refresh_grace: float = Field(
        60.0, ge=0, description="seconds an already-rotated refresh token still works"
    )
    code_ttl: int = Field(600, ge=1)


class LimitSettings(_Section):
    enabled: bool = False
    per_minute: int = Field(500, ge=1, description="requests per minute per (client, realm), batch included")
    concurrent: int = Field(10, ge=1, description="requests in flight per (client, realm)")
    batch_per_minute: int = Field(40, ge=1)
    window_seconds: float = Field(
        60,
        gt=0,
        description="the 'minute' of the two per-minute limits; shorter "
        "windows let tests exercise throttling quickly",
    )


class LatencySettings(_Section):
    fixed_ms: float = Field(0, ge=0)
    min_ms: float | None = Field(None, ge=0)
    max_ms: float | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _range(self) -> LatencySettings:
        if (self.min_ms is None) != (self.max_ms is None):
            raise ValueError("latency min_ms and max_ms go together")
        if self.min_ms is not None and self.max_ms is not None and self.min_ms > self.max_ms:
            raise ValueError("latency min_ms must not exceed max_ms")
        return self


class FaultSettings(_Section):
    """Rates are probabilities per API request, drawn from one seeded generator (reproducible runs)."""

    seed: int = 0
    rate_429: float = Field(0, ge=0, le=1)
    rate_500: float = Field(0, ge=0, le=1)
    rate_503: float = Field(0, ge=0, le=1)
    rate_reset: float = Field(0, ge=0, le=1, description="connection reset before any response byte")
    rate_slow: float = Field(0, ge=0, le=1)
    rate_truncated: float = Field(0, ge=0, le=1, description="headers and half the body, then close")
    slow_seconds: float = Field(5.0, ge=0)

    @model_validator(mode="after")
    def _total(self) -> FaultSettings:
        total = (
            self.rate_429
            + self.rate_500
            + self.rate_503
            + self.rate_reset
            + self.rate_slow
            + self.rate_truncated
        )
        if total > 1:
            raise ValueError(f"fault rates add up to {total:.3f}; they must add up to at most 1")
        return self


class WebhookSettings(_Section):
    url: str | None = Field(None, description="where notifications are POSTed; none: webhooks off")
    verifier_token: str = DEFAULT_VERIFIER
    format: Literal["legacy", "cloudevents"] = "cloudevents"
    window_seconds: float = Field(1.0, ge=0, description="changes within this window share one POST")
    max_attempts: int = Field(8, ge=1)
    retry_base_seconds: float = Field(1.0, ge=0)
    timeout_seconds: float = Field(3.0, gt=0)


class SandboxConfig(_Section):
    oauth: OAuthSettings = Field(default_factory=OAuthSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    latency: LatencySettings = Field(default_factory=LatencySettings)
    faults: FaultSettings = Field(default_factory=FaultSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    cdc_max_age_days: int = Field(30, ge=1, description="older changedSince is refused with a fault")

    def merged(self, patch: dict) -> SandboxConfig:
        """This config with a partial document applied section by section (validated as a whole)."""
        data = self.model_dump()
        for key, value in patch.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
        return SandboxConfig.model_validate(data)

    def public(self) -> dict:
        return self.model_dump()
