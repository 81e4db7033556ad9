"""The outbox POSTed to the platform's callback: signed pages, retried, acknowledged, once each."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from tenacity import wait_none

from pipelines.deliver.callback import SIGNATURE_HEADER, Callback, post_pending
from pipelines.runtime.connector import Connector
from pipelines.runtime.settings import ConfigError, Settings
from sandbox.background import serving

SECRET = "callback-secret-0123456789abcdef"


@dataclass
class Platform:
    """A platform's callback endpoint: checks the signature, answers as told, keeps what it took."""

    answers: list[int] = field(default_factory=list)  # statuses to answer first, then 200
    taken: dict[str, list[str]] = field(default_factory=dict)  # tenant -> change ids, in order
    requests: int = 0
    forged: int = 0

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/qbo/changes")
        async def receive(request: Request) -> JSONResponse:
            self.requests += 1
            body = await request.body()
            stamp, _, mac = request.headers[SIGNATURE_HEADER].partition(",v1=")
            expected = hmac.new(SECRET.encode(), f"{stamp[2:]}.".encode() + body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(mac, expected):
                self.forged += 1
                return JSONResponse({"error": "bad signature"}, status_code=401)
            if self.answers:
                return JSONResponse({}, status_code=self.answers.pop(0))
            page = json.loads(body)
            self.taken.setdefault(page["tenant"], []).extend(c["changeId"] for c in page["changes"])
            assert page["next"] == page["changes"][-1]["cursor"]
            return JSONResponse({"ok": True})

        return app


@pytest.fixture
def platform() -> Iterator[tuple[Platform, str]]:
    endpoint = Platform()
    with serving(endpoint.app()) as (url, _server):
        yield endpoint, f"{url}/qbo/changes"


def connector_for(tmp_path: Path, url: str) -> Connector:
    settings = Settings(
        store_url=f"sqlite:///{tmp_path / 'integration.sqlite'}",
        platform_callback_url=url,
        platform_callback_secret=SECRET,
    )
    connector = Connector(settings)
    for tenant, count in (("tenant-a", 150), ("tenant-b", 3)):
        for n in range(count):
            connector.store.outbox.append(
                change=f"{tenant}-{n}",
                tenant_id=tenant,
                realm_id="1",
                entity="Customer",
                operation="upsert",
                qbo_id=str(n),
                platform_id=f"cus_{n}",
                dto={"id": f"cus_{n}", "displayName": f"Customer {n}"},
            )
    return connector


def test_every_change_reaches_the_callback_once_signed_and_retried(
    tmp_path: Path, platform: tuple[Platform, str]
) -> None:
    endpoint, url = platform
    endpoint.answers = [503]  # the platform is briefly unavailable: the page is sent again
    connector = connector_for(tmp_path, url)
    said: list[str] = []

    posted = post_pending(connector, echo=said.append)

    assert posted.changes == {"tenant-a": 150, "tenant-b": 3} and not posted.waiting
    assert endpoint.taken["tenant-a"] == [f"tenant-a-{n}" for n in range(150)]
    assert endpoint.taken["tenant-b"] == [f"tenant-b-{n}" for n in range(3)]
    assert endpoint.forged == 0 and endpoint.requests == 4  # pages of 100, 50 and 3, one retry
    assert said == ["callback: 153 change(s) taken by the platform"]
    # acknowledged as if the platform had acknowledged on the feed: nothing is sent again
    assert connector.store.outbox.pending("tenant-a") == []
    assert post_pending(connector, echo=said.append).changes == {}
    assert endpoint.requests == 4


def test_a_refusing_platform_keeps_its_changes_for_the_next_delivery(
    tmp_path: Path, platform: tuple[Platform, str]
) -> None:
    endpoint, url = platform
    endpoint.answers = [400]  # not worth retrying: the tenant waits, the other goes on
    connector = connector_for(tmp_path, url)

    posted = post_pending(connector, echo=lambda _: None, callback=Callback(url, SECRET, wait=wait_none()))

    assert posted.waiting == {"tenant-a": "the platform callback answered HTTP 400"}
    assert posted.changes == {"tenant-b": 3}
    assert len(connector.store.outbox.pending("tenant-a", 500)) == 150
    again = post_pending(connector, echo=lambda _: None)
    assert again.changes == {"tenant-a": 150}


def test_a_wrong_secret_is_refused_by_the_platform_and_nothing_is_acknowledged(
    tmp_path: Path, platform: tuple[Platform, str]
) -> None:
    endpoint, url = platform
    connector = connector_for(tmp_path, url)

    posted = post_pending(connector, echo=lambda _: None, callback=Callback(url, "not-the-secret"))

    assert endpoint.forged == 2 and not endpoint.taken  # one page per tenant, each refused once
    assert set(posted.waiting) == {"tenant-a", "tenant-b"}
    assert len(connector.store.outbox.pending("tenant-b")) == 3


def test_a_callback_that_is_no_url_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES__QUICKBOOKS__PLATFORM_CALLBACK_URL", "platform.example/changes")
    with pytest.raises(ConfigError, match="platform_callback_url must be an http"):
        Settings.resolve()
