"""QBO faults in their real envelopes (reference/QBO_API.md §5; samples/qbo/fault_*).

Three families exist on the wire and clients must cope with all of them:
- the capitalised `Fault` (validation and service faults, HTTP 400/500),
- the lower-case gateway `fault` (401 and 403, with an epoch-millisecond `time`),
- the XML `IntuitResponse` that the throttle (429) sends even to JSON clients.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

from sandbox.clock import format_server_time

OBJECT_NOT_FOUND_DETAIL = (
    "Object Not Found : Something you're trying to use has been made inactive. "
    "Check the fields with accounts, customers, items, vendors or employees."
)


@dataclass
class FaultError:
    code: str
    message: str
    detail: str | None = None
    element: str | None = ""


@dataclass
class QboFault(Exception):
    """A fault the sandbox answers with. `envelope` picks the wire family."""

    status: int
    errors: list[FaultError]
    fault_type: str = "ValidationFault"
    envelope: str = "validation"  # validation | gateway | xml
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        first = self.errors[0]
        return f"QBO fault {first.code}: {first.message}"

    @property
    def code(self) -> str:
        return self.errors[0].code

    def body(self, tz: str) -> tuple[bytes, str]:
        """The response body and its content type."""
        if self.envelope == "gateway":
            return json.dumps(_gateway(self), separators=(",", ":")).encode(), "application/json"
        if self.envelope == "xml":
            return _xml(self, tz).encode(), "application/xml"
        return json.dumps(self.as_fault_json(tz), separators=(",", ":")).encode(), "application/json"

    def as_fault_json(self, tz: str | None) -> dict[str, Any]:
        """The capitalised envelope; without `tz` it is the member of a batch item (no `time`)."""
        errors = []
        for e in self.errors:
            item: dict[str, Any] = {"Message": e.message}
            if e.detail is not None:
                item["Detail"] = e.detail
            item["code"] = e.code
            if e.element is not None:
                item["element"] = e.element
            errors.append(item)
        fault: dict[str, Any] = {"Fault": {"Error": errors, "type": self.fault_type}}
        if tz is not None:
            fault["time"] = format_server_time(tz)
        return fault


def _gateway(fault: QboFault) -> dict[str, Any]:
    return {
        "warnings": None,
        "intuitObject": None,
        "fault": {
            "error": [
                {"message": e.message, "detail": e.detail, "code": e.code, "element": None}
                for e in fault.errors
            ],
            "type": fault.fault_type,
        },
        "report": None,
        "queryResponse": None,
        "batchItemResponse": [],
        "attachableResponse": [],
        "syncErrorResponse": None,
        "requestId": None,
        "time": int(time.time() * 1000),
        "status": None,
        "cdcresponse": [],
    }


def _xml(fault: QboFault, tz: str) -> str:
    errors = "".join(
        f'    <Error code="{escape(e.code)}">\n'
        f"      <Message>{escape(e.message)}</Message>\n"
        f"      <Detail>{escape(e.detail or '')}</Detail>\n"
        "    </Error>\n"
        for e in fault.errors
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<IntuitResponse time="{format_server_time(tz)}" xmlns="http://schema.intuit.com/finance/v3">\n'
        f'  <Fault type="{escape(fault.fault_type)}">\n{errors}  </Fault>\n</IntuitResponse>\n'
    )


def validation(code: str, message: str, detail: str, element: str | None = None) -> QboFault:
    """A 400 ValidationFault; `element` is omitted when None, as in the recordings that lack it."""
    return QboFault(400, [FaultError(code, message, detail, element)])


def stale_object() -> QboFault:
    who = "Sandbox Bookkeeper"
    return validation(
        "5010",
        "Stale Object Error",
        f"Stale Object Error : You and {who} were working on this at the same time. "
        f"{who} finished before you did, so your work was not saved.",
        "",
    )


def object_not_found(element: str | None = "") -> QboFault:
    return validation("610", "Object Not Found", OBJECT_NOT_FOUND_DETAIL, element)


def duplicate_name() -> QboFault:
    return validation(
        "6240",
        "Duplicate Name Exists Error",
        "The name supplied already exists. : Another customer, vendor or employee is already using this "
        "name. Please use a different name.",
    )


def duplicate_name_in_list(entity: str) -> QboFault:
    return validation(
        "6240",
        "Duplicate Name Exists Error",
        f"The name supplied already exists. : Another {entity.lower()} is already using this name.",
    )


def duplicate_doc_number(doc_number: str) -> QboFault:
    return validation(
        "6140",
        "Duplicate Document Number Error",
        f"Duplicate Document Number Error : You must specify a different number. "
        f"This number has already been used. DocNumber={doc_number}",
    )


def required_param(element: str) -> QboFault:
    return validation(
        "2020",
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {element} is missing in the request",
        element,
    )


def unsupported_property(entity: str, prop: str) -> QboFault:
    return validation(
        "2010",
        "Request has invalid or unsupported property",
        f'Property Name:Unrecognized field "{prop}" (class com.intuit.schema.finance.v3.{entity}), '
        f"not marked as ignorable\n specified is unsupported or invalid",
    )


def invalid_id(value: str) -> QboFault:
    return validation("2030", "Invalid ID", f"Id should be a valid number. Supplied value:{value}", "Id")


def invalid_reference(element: str, value: str) -> QboFault:
    return validation(
        "2500",
        "Invalid Reference Id",
        f"Invalid Reference Id : {element} assigned is invalid: {value}",
        element,
    )


def invalid_number(element: str, value: Any) -> QboFault:
    return validation(
        "2080",
        "Illegal number format",
        f"Illegal number format : {element} has invalid value {value!r}",
        element,
    )


def invalid_enum(element: str, value: Any) -> QboFault:
    return validation(
        "2170", "Invalid Enumeration", f"Invalid Enumeration : {value} is not valid for {element}", element
    )


def length_exceeded(element: str, limit: int) -> QboFault:
    return validation(
        "2050",
        "String length is either shorter or longer than supported by specification",
        f"String length specified does not match the supported length. Min:0 Max:{limit} supported. "
        f"Supplied length for {element} exceeds it",
        element,
    )


def business_validation(detail: str, element: str | None = None) -> QboFault:
    return validation(
        "6000",
        "A business validation error has occurred while processing your request",
        f"Business Validation Error: {detail}",
        element,
    )


def query_parse(detail: str) -> QboFault:
    return validation("4000", "Error parsing query", f"QueryParserError: {detail}")


def invalid_query(detail: str) -> QboFault:
    return validation("4001", "Invalid query", f"QueryValidationError: {detail}")


def unsupported_operation(detail: str = "Operation not supported.") -> QboFault:
    return validation("500", "Unsupported Operation", f"Operation {detail}")


def request_error(detail: str) -> QboFault:
    """A body the server cannot read at all (not JSON, wrong shape)."""
    return validation("2010", "Request has invalid or unsupported property", detail)


def authentication_failed(detail: str) -> QboFault:
    return QboFault(
        401,
        [FaultError("3200", "message=AuthenticationFailed; errorCode=003200; statusCode=401", detail, None)],
        fault_type="AUTHENTICATION",
        envelope="gateway",
        headers={"WWW-Authenticate": 'Bearer realm="Intuit", error="invalid_token"'},
    )


def authorization_failed() -> QboFault:
    return QboFault(
        403,
        [FaultError("3100", "message=AuthorizationFailed; errorCode=003100; statusCode=403", None, None)],
        fault_type="SERVICE",
        envelope="gateway",
    )


def throttled() -> QboFault:
    return QboFault(
        429,
        [
            FaultError(
                "3001",
                "message=ThrottleExceeded; errorCode=003001; statusCode=429",
                "The request limit was reached.  Try again later",
            )
        ],
        fault_type="SERVICE",
        envelope="xml",
    )


def system_fault(status: int = 500) -> QboFault:
    return QboFault(
        status,
        [
            FaultError(
                "10000",
                "An application error has occurred while processing your request",
                "System Failure Error: An unexpected error occurred while accessing or saving your data. "
                "Please wait a few minutes and try again.",
            )
        ],
        fault_type="SystemFault",
    )
