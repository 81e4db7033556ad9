"""A small raw HTTP client for the tests: exactly the requests QBO clients send, nothing hidden."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests

from sandbox.background import RunningSandbox
from sources.quickbooks.catalog import BY_RESOURCE


@dataclass
class QboHttp:
    server: RunningSandbox
    realm_id: str
    tokens: dict[str, Any]
    session: requests.Session = field(default_factory=requests.Session)

    @classmethod
    def create(cls, server: RunningSandbox, company: str, realm_id: str, seed: int = 1) -> QboHttp:
        created = requests.post(
            f"{server.base_url}/_sandbox/realms",
            json={"realm_id": realm_id, "company": company, "seed": seed},
            timeout=120,
        )
        assert created.status_code == 201, created.text
        return cls(server, realm_id, server.connect(realm_id))

    @property
    def base(self) -> str:
        return self.server.api_url(self.realm_id)

    def headers(self, **extra: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.tokens['access_token']}",
            "Accept": "application/json",
            **extra,
        }

    def query(self, text: str, method: str = "GET") -> requests.Response:
        if method == "POST":
            return self.session.post(
                f"{self.base}/query",
                data=text.encode(),
                params={"minorversion": "75"},
                headers=self.headers(**{"Content-Type": "application/text"}),
                timeout=60,
            )
        return self.session.get(
            f"{self.base}/query",
            params={"query": text, "minorversion": "75"},
            headers=self.headers(),
            timeout=60,
        )

    def rows(self, text: str) -> list[dict[str, Any]]:
        response = self.query(text)
        assert response.status_code == 200, response.text
        body = response.json()["QueryResponse"]
        entity = text.split()[3]
        return body.get(entity, [])

    def read(self, entity: str, id_: str) -> requests.Response:
        return self.session.get(
            f"{self.base}/{entity.lower()}/{id_}",
            params={"minorversion": "75"},
            headers=self.headers(),
            timeout=60,
        )

    def post(self, entity: str, body: Any, **params: str) -> requests.Response:
        return self.session.post(
            f"{self.base}/{entity.lower()}",
            json=body,
            params={"minorversion": "75", **params},
            headers=self.headers(),
            timeout=60,
        )

    def ok(self, entity: str, body: Any, **params: str) -> dict[str, Any]:
        response = self.post(entity, body, **params)
        assert response.status_code == 200, response.text
        return response.json()[BY_RESOURCE[entity.lower()].name]

    def get(self, path: str, **params: str) -> requests.Response:
        return self.session.get(f"{self.base}/{path}", params=params, headers=self.headers(), timeout=60)

    def admin(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, f"{self.server.base_url}/_sandbox/{path}", timeout=120, **kwargs)


def invoice_body(customer_id: str, item_id: str, amount: float, **detail: Any) -> dict[str, Any]:
    """The smallest valid invoice: one sales line of `amount` for `item_id`."""
    return {
        "CustomerRef": {"value": customer_id},
        "Line": [
            {
                "Amount": amount,
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {"ItemRef": {"value": item_id}, **detail},
            }
        ],
    }


def fault_code(response: requests.Response) -> str:
    body = response.json()
    fault = body.get("Fault") or body.get("fault")
    errors = fault.get("Error") or fault.get("error")
    return errors[0]["code"]
