"""`qbo mcp`: the intents as tools over the Model Context Protocol (JSON-RPC 2.0, one message a line on
stdio), for agent orchestrators. Two tools: `qbo_intent` takes a QboIntent (its JSON schema is the tool's
input schema) and `qbo_ask` takes a question in words. Both go through the same guardrails, the same
approval queue for writes and the same audit log as `qbo ask`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TextIO

from pydantic import ValidationError

from pipelines.ask.intent import QboIntent, intent_schema
from pipelines.ask.translate import Refused

PROTOCOL = "2025-06-18"


def tools() -> list[dict[str, Any]]:
    return [
        {
            "name": "qbo_intent",
            "description": "Read QuickBooks data, or queue an invoice or bill for approval, with a "
            "structured intent. Reads answer from the warehouse when it is fresh, else from QBO. "
            "Destructive operations do not exist.",
            "inputSchema": intent_schema(),
        },
        {
            "name": "qbo_ask",
            "description": "A finance question in plain English (e.g. 'unpaid invoices from last month over "
            "$1,000'); answers with the intent it was read as, the queries and the rows.",
            "inputSchema": {
                "type": "object",
                "properties": {"question": {"type": "string", "minLength": 3, "maxLength": 500}},
                "required": ["question"],
                "additionalProperties": False,
            },
        },
    ]


class McpServer:
    """`ask(intent, question)` answers (pipelines.ask.run.Asker.answer); `parse(text)` reads words."""

    def __init__(
        self, ask: Callable[[QboIntent, str | None], Any], parse: Callable[[str], QboIntent]
    ) -> None:
        self.ask = ask
        self.parse = parse

    def handle(self, message: dict[str, Any]) -> dict[str, Any] | None:
        method, ident = message.get("method"), message.get("id")
        if ident is None:  # a notification (initialized, cancelled): nothing to answer
            return None
        if method == "initialize":
            result: dict[str, Any] = {
                "protocolVersion": PROTOCOL,
                "capabilities": {"tools": {"listChanged": False}},
                "serverInfo": {"name": "qbo-elt", "version": "0.1.0"},
            }
        elif method == "ping":
            result = {}
        elif method == "tools/list":
            result = {"tools": tools()}
        elif method == "tools/call":
            result = self.call(message.get("params") or {})
        else:
            return {
                "jsonrpc": "2.0",
                "id": ident,
                "error": {"code": -32601, "message": f"no method {method}"},
            }
        return {"jsonrpc": "2.0", "id": ident, "result": result}

    def call(self, params: dict[str, Any]) -> dict[str, Any]:
        name, arguments = params.get("name"), params.get("arguments") or {}
        try:
            if name == "qbo_intent":
                answer = self.ask(QboIntent.model_validate(arguments), None)
            elif name == "qbo_ask":
                question = str(arguments.get("question", ""))
                answer = self.ask(self.parse(question), question)
            else:
                return _tool_error(f"no tool {name!r}; tools/list names them")
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            return _tool_error(f"the intent is not valid: {problems}")
        except (Refused, ValueError) as exc:
            return _tool_error(str(exc))
        return {
            "content": [{"type": "text", "text": json.dumps(answer.as_json(), default=str)}],
            "isError": False,
        }

    def serve(self, stdin: TextIO, stdout: TextIO) -> None:
        for line in stdin:
            if not line.strip():
                continue
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                reply: dict[str, Any] | None = {
                    "jsonrpc": "2.0",
                    "id": None,
                    "error": {"code": -32700, "message": "not JSON"},
                }
            else:
                reply = self.handle(message) if isinstance(message, dict) else None
            if reply is not None:
                stdout.write(json.dumps(reply, default=str) + "\n")
                stdout.flush()


def _tool_error(text: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": text}], "isError": True}
