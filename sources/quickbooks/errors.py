"""Typed QBO errors (DESIGN decision 6): every fault, whatever its envelope, becomes one exception.

QBO answers faults in three shapes (reference/QBO_API.md §5): the capitalised `Fault` (validation,
service), the lower-case gateway `fault` (401/403) and an XML `IntuitResponse` (the 429 throttle,
even to JSON clients). `from_response` reads all three, keeps `intuit_tid` for support tickets, and
never copies a token or a request body into the message.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sources.platform.errors import detail, issue_of

if TYPE_CHECKING:  # only annotations: a reader of the store's errors does not load the HTTP stack
    import requests

_TOKEN_LIKE = re.compile(r"\b(?:eyJ[\w-]{8,}|RT1-[\w-]{8,}|AB\w{20,}|Bearer\s+\S+)")


def redact(text: str | None) -> str:
    """Remove anything shaped like an Intuit token (QBO echoes them in 401 details)."""
    return _TOKEN_LIKE.sub("[redacted]", text or "")


@dataclass
class QboError(Exception):
    """A fault from QBO (or the connector's view of one): code, element, message, intuit_tid."""

    code: str
    message: str
    detail: str = ""
    element: str | None = None
    status: int | None = None
    intuit_tid: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)  # every Error entry, for multi-error faults
    entity: str | None = None  # the QBO entity being worked on, when the caller knows it

    retryable = False

    def __post_init__(self) -> None:
        self.message = redact(self.message)
        self.detail = redact(self.detail)
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f" [{self.element}]" if self.element else ""
        tid = f" (intuit_tid {self.intuit_tid})" if self.intuit_tid else ""
        detail = f": {self.detail}" if self.detail and self.detail != self.message else ""
        return f"QBO {self.code}{where} {self.message}{detail}{tid}"

    def to_dto(self, field_of: Callable[[str], str] | None = None) -> dict[str, Any]:
        """The spec's error DTO (`code`, `message`, `details[]`), what callers and the error table see.
        `field_of` names a fault's QBO element in the platform's terms (`Line.Amount` -> `lines[].amount`);
        the element itself stays beside it, as `qboElement`."""
        details = [
            detail(
                (field_of or str)(e["element"]) if e.get("element") else None,
                issue_of(str(e.get("code") or "")),
                redact(e.get("detail") or e.get("message")),
                code=e.get("code"),
                qboElement=e.get("element") if field_of else None,
            )
            for e in (
                self.errors
                or [
                    {
                        "code": self.code,
                        "element": self.element,
                        "detail": self.detail,
                        "message": self.message,
                    }
                ]
            )
        ]
        return {
            "code": f"QBO_{self.code}",
            "message": self.message,
            "details": details,
            "intuit_tid": self.intuit_tid,
        }


class AuthenticationError(QboError):
    """401 / 3200: the access token is expired or invalid; refresh once, then give up."""


class AuthorizationError(QboError):
    """403 / 3100: the token is for another realm or lacks the scope: reconnect the realm."""


class ThrottledError(QboError):
    """429 / 3001: over QBO's request limits; back off and retry."""

    retryable = True
    retry_after: float | None = None


class ServerError(QboError):
    """5xx / 10000: QBO had a problem; retry with back-off."""

    retryable = True


class TransportError(QboError):
    """No usable answer: connection reset, timeout, a truncated or unreadable body; retry."""

    retryable = True
    unreachable = False  # nothing answers at the address (refused, unknown host): retried briefly only


def transport_reason(exc: requests.RequestException) -> str:
    """A failed request's cause in a few words (refused, unknown host, timed out), for one-line errors."""
    chain: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(chain) < 12:  # requests wraps urllib3's error, which wraps the socket's
        seen = todo.pop()
        if seen in chain:
            continue
        chain.append(seen)
        inner = [seen.__cause__, seen.__context__, getattr(seen, "reason", None), *seen.args]
        todo += [e for e in inner if isinstance(e, BaseException)]
    names = {type(e).__name__ for e in chain}
    text = " ".join(str(e) for e in chain).lower()
    if "NameResolutionError" in names or "name or service not known" in text or "getaddrinfo" in text:
        return "the host name does not resolve (DNS)"
    if "ConnectionRefusedError" in names or "connection refused" in text:
        return "connection refused: nothing answers there"
    if any("Timeout" in name for name in names):  # requests' Timeout, ReadTimeout, ConnectTimeout
        return "timed out"
    if "ConnectionResetError" in names or "connection reset" in text:
        return "the connection was reset"
    return type(exc).__name__


def unreachable(exc: requests.RequestException) -> bool:
    """Nothing answered (refused, unknown host): the request was never sent, and retrying soon is
    unlikely to help, unlike a reset or a timeout."""
    return transport_reason(exc).startswith(("connection refused", "the host name"))


class ValidationError(QboError):
    """400 with a 2xxx/6xxx code: the request is wrong; retrying will not help."""


class QueryError(ValidationError):
    """4000 / 4001: the query does not parse or names an unknown entity."""


class NotFoundError(QboError):
    """610: the object does not exist (any more), or a referenced one is inactive."""


class StaleObjectError(QboError):
    """5010: somebody changed the object since its SyncToken was read."""


class DuplicateNameError(ValidationError):
    """6240: DisplayName / Name already used."""


class ReconnectRequired(QboError):
    """The consent is gone (invalid_grant, revoked, 5-year expiry): a person must reconnect the realm."""


_BY_CODE: dict[str, type[QboError]] = {
    "3200": AuthenticationError,
    "3100": AuthorizationError,
    "3001": ThrottledError,
    "610": NotFoundError,
    "5010": StaleObjectError,
    "6240": DuplicateNameError,
    "4000": QueryError,
    "4001": QueryError,
    "10000": ServerError,
}


def error_class(code: str, status: int | None) -> type[QboError]:
    if code in _BY_CODE:
        return _BY_CODE[code]
    if status == 401:
        return AuthenticationError
    if status == 403:
        return AuthorizationError
    if status == 429:
        return ThrottledError
    if status is not None and status >= 500:
        return ServerError
    return ValidationError if (status == 400 or code.isdigit()) else QboError


def parse_fault(body: Any, status: int | None = None, intuit_tid: str | None = None) -> QboError | None:
    """The error in a fault body (dict from JSON, or XML text); None if the body holds no fault."""
    if isinstance(body, str | bytes):
        return _parse_xml(body, status, intuit_tid)
    if not isinstance(body, dict):
        return None
    fault = body.get("Fault") or body.get("fault")
    if not isinstance(fault, dict):
        return None
    errors = fault.get("Error") or fault.get("error") or []
    if not errors:
        return None
    normalised = [
        {
            "code": str(e.get("code") or e.get("Code") or ""),
            "message": e.get("Message") or e.get("message") or "",
            "detail": e.get("Detail") or e.get("detail") or "",
            "element": e.get("element") or e.get("Element") or None,
        }
        for e in errors
    ]
    first = normalised[0]
    cls = error_class(first["code"], status)
    return cls(
        first["code"], first["message"], first["detail"], first["element"], status, intuit_tid, normalised
    )


def _parse_xml(text: str | bytes, status: int | None, intuit_tid: str | None) -> QboError | None:
    try:
        root = ET.fromstring(text)  # noqa: S314 - QBO's fault XML
    except ET.ParseError:
        return None
    for error in root.iter():
        if error.tag.endswith("Error") and error.get("code"):
            texts = {child.tag.split("}")[-1]: (child.text or "") for child in error}
            code = error.get("code", "")
            cls = error_class(code, status)
            return cls(
                code,
                texts.get("Message", ""),
                texts.get("Detail", ""),
                None,
                status,
                intuit_tid,
                [{"code": code, "message": texts.get("Message", ""), "detail": texts.get("Detail", "")}],
            )
    return None


def from_response(response: requests.Response) -> QboError:
    """The typed error for a non-2xx answer (or a 200 whose body is a fault)."""
    tid = response.headers.get("intuit_tid")
    status = response.status_code
    content_type = response.headers.get("content-type", "")
    body: Any
    try:
        body = response.json() if "json" in content_type else response.text
    except ValueError:
        body = response.text
    error = parse_fault(body, status, tid)
    if error is not None:
        if isinstance(error, ThrottledError):
            error.retry_after = retry_after_seconds(response)
        return error
    text = body if isinstance(body, str) else json.dumps(body)[:300]
    cls = error_class("", status)
    error = cls(str(status), f"HTTP {status} from QBO", redact(text[:300]), None, status, tid)
    if isinstance(error, ThrottledError):
        error.retry_after = retry_after_seconds(response)
    return error


def retry_after_seconds(response: requests.Response) -> float | None:
    """The Retry-After header in seconds (the HTTP-date form is not used by Intuit), or None."""
    value = response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
