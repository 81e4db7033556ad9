"""`qbo mcp`: the intents as tools over the Model Context Protocol, for agent orchestrators.

Three tools. `qbo_intent` (a `QboIntent` in the spec's names, §11.1: `intent_schema()` is the input
schema) and `qbo_ask` (a question in words) only read, and say so (`readOnlyHint`); `qbo_draft` takes
a CREATE_* intent and queues the record for a person's approval (`qbo approve --draft N`): it adds,
never changes or deletes. A write asked of a read tool is refused with the intent to send to
`qbo_draft`, so the calling model can choose knowingly. All three go through the same guardrails and
the same audit log as `qbo ask`. The official SDK speaks the protocol (stdio framing, version
negotiation, ping); this module only says what the tools are and how a call is answered. A refusal
or an invalid intent is a tool result with `isError`, not a protocol error, so the calling model
reads what to change.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

import anyio
from mcp import types
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server
from pydantic import ValidationError

from pipelines.ask.intent import QboIntent, intent_schema
from pipelines.ask.translate import Refused

Answer = Callable[[QboIntent, str | None], Any]  # `Asker.answer`: its result has `as_json()`
Parse = Callable[[str], QboIntent]  # words -> intent, e.g. `RuleParser.parse` with today bound

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


def call_tool(answer: Answer, parse: Parse, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
    """One tool call, answered synchronously: the answer's JSON, or what is wrong as a tool error."""
    try:
        question = None
        if name in ("qbo_intent", WRITE_TOOL):
            intent = QboIntent.from_wire(arguments)
        elif name == "qbo_ask":
            question = str(arguments.get("question", ""))
            intent = parse(question)
        else:
            return _tool_error(f"no tool {name!r}; tools/list names them")
        if intent.is_write != (name == WRITE_TOOL):
            return _tool_error(_other_tool(intent))
        result = answer(intent, question)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return _tool_error(f"the intent is not valid: {problems}")
    except (Refused, ValueError) as exc:  # ParseError is a ValueError
        return _tool_error(str(exc))
    text = json.dumps(result.as_json(), default=str)
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=False)


def build_server(answer: Answer, parse: Parse) -> Server[Any]:
    """The SDK server with the three tools; `serve_stdio` runs it, tests connect a client to it in memory.

    Answering is blocking work (DuckDB, the store, maybe QBO): it runs in a worker thread, one call at a
    time as `qbo ask` would, so the protocol loop stays responsive meanwhile.
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
            call_tool, answer, parse, params.name, params.arguments or {}, limiter=one_at_a_time
        )

    return Server(
        "qbo-elt",
        version=version("qbo-elt"),
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call,
    )


def serve_stdio(answer: Answer, parse: Parse) -> None:
    """Serve the tools on stdin/stdout until the client closes stdin."""
    server = build_server(answer, parse)

    async def run() -> None:
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

    anyio.run(run)


def _other_tool(intent: QboIntent) -> str:
    if intent.is_write:
        sent = intent.wire_json(exclude_defaults=True)
        return f"{intent.operation} writes: call {WRITE_TOOL} with {sent} to queue it for approval"
    return f"{intent.operation} only reads: call qbo_intent with it"


def _tool_error(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=True)
