"""`qbo mcp`: the intents as tools over the Model Context Protocol, for agent orchestrators.

Three tools. `qbo_intent` (a `QboIntent` in the spec's names, §11.1: `intent_schema()` is the input
schema) and `qbo_ask` (a question in words) only read, and say so (`readOnlyHint`); `qbo_draft` takes
a CREATE_* intent and queues the record for a person's approval (`qbo approve --draft N`): it adds,
never changes or deletes. A write asked of a read tool is refused with the intent to send to
`qbo_draft`, so the calling model can choose knowingly. All three go through the same guardrails and
the same audit log as `qbo ask`. The official SDK speaks the protocol (version negotiation, ping);
`mcp_stdio` frames it on stdio and answers a malformed line itself. A refusal or an invalid intent is a
tool result with `isError`, not a protocol error, so the calling model reads what to change. A server
started for one realm (`qbo mcp --realm`) answers only about it: an intent naming another realm is a
JSON-RPC error (-32602) naming `realmId`, and is never answered. Every call refused or failed before the
answering side could audit it is audited here, as the calls answered are there.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

import anyio
from mcp import types
from mcp.server import Server, ServerRequestContext
from mcp.shared.exceptions import MCPError
from pydantic import ValidationError

from pipelines.ask.intent import QboIntent, intent_schema
from pipelines.ask.mcp_stdio import guarded_stdio
from pipelines.ask.parse_error import ParseError
from pipelines.ask.translate import Refused

Answer = Callable[[QboIntent, str | None], Any]  # `Asker.answer`: its result has `as_json()`
# a queued draft in full, by its number in the approval queue (`draft_view.queued`, connector bound)
Describe = Callable[[int], dict[str, Any] | None]
Parse = Callable[[str], QboIntent]  # words -> intent, e.g. `RuleParser.parse` with today bound
# `IntegrationStore.intents.audit`, caller bound: question, intent, realm_id, ran_on, query, rows, note
Audit = Callable[..., None]
AUDITED_JSON = 8000  # characters of a refused call's arguments kept in the audit log
log = logging.getLogger(__name__)

# reads change nothing but the audit log; a draft adds one queued record, never touching an existing one
READ = {"read_only_hint": True, "idempotent_hint": True, "open_world_hint": False}
DRAFT = {
    "read_only_hint": False,
    "destructive_hint": False,
    "idempotent_hint": False,
    "open_world_hint": False,
}
WRITE_TOOL = "qbo_draft"
INSTRUCTIONS = (
    "Answers questions about one QuickBooks Online company from its warehouse (or QBO when the "
    "warehouse is stale). Creating an invoice or bill only queues a draft for human approval; "
    "deleting, voiding or changing records is not possible."
)


def tools() -> list[types.Tool]:
    return [
        types.Tool(
            name="qbo_intent",
            title="QuickBooks intent",
            description="Read QuickBooks data with a structured intent (LIST_* and GET_* operations). "
            "Answers from the warehouse when it is fresh, else from QBO. Nothing destructive exists.",
            input_schema=intent_schema(),
            annotations=types.ToolAnnotations(title="QuickBooks intent", **READ),
        ),
        types.Tool(
            name="qbo_ask",
            title="Ask QuickBooks",
            description="A finance question in plain English (e.g. 'unpaid invoices from last month over "
            "$1,000'); answers with the intent it was read as, the queries and the rows.",
            input_schema={
                "type": "object",
                "properties": {"question": {"type": "string", "minLength": 3, "maxLength": 500}},
                "required": ["question"],
                "additionalProperties": False,
            },
            annotations=types.ToolAnnotations(title="Ask QuickBooks", **READ),
        ),
        types.Tool(
            name=WRITE_TOOL,
            title="Draft a QuickBooks record",
            description="Draft a new invoice or bill (CREATE_INVOICE, CREATE_BILL with its `record`): it is "
            "checked like a push and queued for a person's approval, never sent to QBO by this call.",
            input_schema=intent_schema(),
            annotations=types.ToolAnnotations(title="Draft a QuickBooks record", **DRAFT),
        ),
    ]


def call_tool(
    answer: Answer,
    parse: Parse,
    name: str,
    arguments: dict[str, Any],
    realm: str | None = None,
    audit: Audit | None = None,
    describe: Describe | None = None,
) -> types.CallToolResult:
    """One tool call, answered synchronously: the answer's JSON, or what is wrong as a tool error.

    Raises `MCPError` (-32602) for an intent about a realm other than `realm`. What is refused or fails
    before `answer` has run, or fails inside it, is audited with `audit`; `answer` audits the rest. A
    question naming several records (or none known) is refused with their names (`candidates`) as a
    second, JSON content; a queued draft is answered with itself in full (`draft`) by `describe`.
    """
    question = arguments.get("question") if name == "qbo_ask" else None
    intent: QboIntent | None = None

    def refused(text: str, ran_on: str = "refused") -> types.CallToolResult:
        _audited(audit, name, arguments, intent, question, realm, ran_on, text)
        return _tool_error(text)

    try:
        if name in ("qbo_intent", WRITE_TOOL):
            intent = QboIntent.from_wire(arguments)
        elif name == "qbo_ask":
            if not isinstance(question, str):
                return refused("question: must be a text, e.g. 'unpaid invoices over $1,000'")
            intent = parse(question)
        else:
            return refused(f"no tool {name[:64]!r}; tools/list names them")
        if realm is not None:
            if intent.realm_id not in (None, realm):
                message = (
                    f"realmId: this server answers only about realm {realm}, not {intent.realm_id}: "
                    f"leave realmId out, or start `qbo mcp --realm {intent.realm_id}` for that realm"
                )
                _audited(audit, name, arguments, intent, question, realm, "refused", message)
                raise MCPError(types.INVALID_PARAMS, message)
            intent = intent.model_copy(update={"realm_id": realm})
        if intent.is_write != (name == WRITE_TOOL):
            return refused(_other_tool(intent))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'intent'}: {e['msg']}" for e in exc.errors())
        return refused(f"the intent is not valid: {problems}")
    except ParseError as exc:
        result = refused(str(exc))
        if exc.candidates:
            choice = {"candidates": list(exc.candidates), "rephrase": exc.rephrase}
            result.content.append(types.TextContent(type="text", text=json.dumps(choice, ensure_ascii=False)))
        return result
    except ValueError as exc:
        return refused(str(exc))
    except MCPError:
        raise
    except Exception as exc:  # a parser's own fault: this call fails, the server goes on
        return _failed(refused, name, exc)
    try:
        result = answer(intent, question)  # audits what it answers and what it refuses
        shown = result.as_json()
        if describe is not None and shown.get("ran_on") == "approval_queue" and shown.get("rows"):
            shown["draft"] = describe(int(shown["rows"][0][0]))
        text = json.dumps(shown, default=str)
    except Refused as exc:
        return _tool_error(str(exc))
    except Exception as exc:  # a fault of QBO, the warehouse or the store: the call fails, the server goes on
        return _failed(refused, name, exc)
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=False)


def build_server(
    answer: Answer,
    parse: Parse,
    realm: str | None = None,
    audit: Audit | None = None,
    describe: Describe | None = None,
) -> Server[Any]:
    """The SDK server with the three tools; `serve_stdio` runs it, tests connect a client to it in memory.

    Answering is blocking work (DuckDB, the store, maybe QBO): it runs in a worker thread, one call at a
    time as `qbo ask` would, so the protocol loop stays responsive meanwhile. `realm` bounds every
    answer to one realm; `audit` records the calls refused before they reach `answer`.
    """
    one_at_a_time = anyio.CapacityLimiter(1)

    async def list_tools(
        _ctx: ServerRequestContext[Any], _params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tools())

    async def call(
        _ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        return await anyio.to_thread.run_sync(
            call_tool,
            answer,
            parse,
            params.name,
            params.arguments or {},
            realm,
            audit,
            describe,
            limiter=one_at_a_time,
        )

    return Server(
        "qbo-elt",
        version=version("qbo-elt"),
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call,
    )


def serve_stdio(
    answer: Answer,
    parse: Parse,
    realm: str | None = None,
    audit: Audit | None = None,
    describe: Describe | None = None,
) -> None:
    """Serve the tools on stdin/stdout until the client closes stdin; a malformed line is answered."""
    server = build_server(answer, parse, realm, audit, describe)

    def line_refused(message: str, line: str) -> None:
        _audited(audit, None, {}, None, None, realm, "refused", message, line)

    async def run() -> None:
        async with guarded_stdio(on_refused=line_refused) as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

    anyio.run(run)


def _other_tool(intent: QboIntent) -> str:
    if intent.is_write:
        sent = intent.wire_json(exclude_defaults=True)
        return f"{intent.operation} writes: call {WRITE_TOOL} with {sent} to queue it for approval"
    return f"{intent.operation} only reads: call qbo_intent with it"


def _tool_error(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=True)


def _failed(
    refused: Callable[[str, str], types.CallToolResult], name: str, exc: Exception
) -> types.CallToolResult:
    log.exception("%s failed", name)
    return refused(f"the call failed ({type(exc).__name__}: {str(exc)[:300]}); it is audited", "failed")


def _audited(
    audit: Audit | None, tool: str | None, arguments: dict[str, Any], intent: QboIntent | None,
    question: Any, realm: str | None, ran_on: str, note: str, line: str | None = None,
) -> None:  # fmt: skip
    """One refused or failed call in the audit log: the intent when there is one, else what was sent (cut):
    the tool and its arguments, or the start of a line that was not a request."""
    if audit is None:
        return
    sent: dict[str, Any] = (
        intent.wire()
        if intent is not None
        else {"line": line}
        if line is not None
        else {"tool": tool, "arguments": arguments}
    )
    text = json.dumps(sent, default=str)
    if len(text) > AUDITED_JSON:
        sent = {"tool": tool, "truncated": text[:AUDITED_JSON]}
    try:
        audit(
            question=question[:2000] if isinstance(question, str) else None,
            intent=sent,
            realm_id=realm or (intent.realm_id if intent is not None else None),
            ran_on=ran_on,
            query=None,
            rows=None,
            note=note[:2000],
        )
    except Exception:  # an audit the store could not take must not turn a refusal into a crash
        log.exception("could not audit a %s call", ran_on)
