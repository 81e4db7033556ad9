"""The stdio transport of `qbo mcp`: one JSON-RPC message a line, screened before the SDK sees it.

The SDK's own stdio transport reads lines of any length and drops a line it cannot read without an
answer, so a client waits forever and one hostile line can take the process's memory. Here every line
is bounded (`MAX_LINE`, refused unread beyond it), parsed once, and checked for the shape a request
must have; what is wrong is answered at once with the JSON-RPC error that names the field (-32700 not
JSON, -32600 not a request, -32602 params that are not an object), and the next line is read. Only
well-formed messages reach the server, whose tools then check the arguments themselves.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, redirect_stdout
from typing import Any, BinaryIO

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp import types
from mcp.shared.message import SessionMessage
from pydantic import ValidationError

from sources.nesting import MAX_DEPTH, too_deep

MAX_LINE = 1 << 20  # 1 MiB: an intent or a question is a few hundred bytes
MAX_ID = 2**53  # ids a JSON number holds exactly, as every client reads them
OnRefused = Callable[[str, str], None]  # (the error's message, the start of the line refused)


def screen(line: bytes) -> SessionMessage | types.JSONRPCError:
    """The message a line holds, or the JSON-RPC error that says what is wrong with it."""
    try:
        data = json.loads(line.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError:
        return _error(types.PARSE_ERROR, "the line is not UTF-8: send JSON-RPC as UTF-8 text")
    except RecursionError:
        return _error(types.INVALID_REQUEST, f"the request is nested deeper than {MAX_DEPTH} levels")
    except ValueError as exc:  # JSONDecodeError, a number over Python's 4,300 digits, NaN
        problem = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        return _error(types.PARSE_ERROR, f"not JSON ({problem}): send one JSON-RPC object a line")
    if not isinstance(data, dict):
        kind = "an array (batches are not taken)" if isinstance(data, list) else _kind(data)
        return _error(types.INVALID_REQUEST, f"a request is one JSON object, not {kind}")
    ident = data.get("id")
    valid_id = _valid_id(ident)
    reply_to = ident if valid_id else None
    if too_deep(data):
        return _error(
            types.INVALID_REQUEST, f"the request is nested deeper than {MAX_DEPTH} levels", reply_to
        )
    if data.get("jsonrpc") != "2.0":
        return _error(types.INVALID_REQUEST, 'jsonrpc: must be "2.0"', reply_to)
    if "id" in data and not valid_id:
        return _error(
            types.INVALID_REQUEST, f"id: must be a string (up to 256 characters) or an integer below {MAX_ID}"
        )
    if "method" in data:
        problem = _request_problem(data)
        if problem:
            return _error(problem[0], problem[1], reply_to)
    try:
        message = types.jsonrpc_message_adapter.validate_python(data, by_name=False)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or "message"
        return _error(types.INVALID_REQUEST, f"not a JSON-RPC message: {where}: {first['msg']}", reply_to)
    return SessionMessage(message)


def _request_problem(data: dict[str, Any]) -> tuple[int, str] | None:
    """The envelope of a request or notification: what the SDK would refuse without saying which field."""
    method, params = data["method"], data.get("params")
    if not isinstance(method, str) or not method or len(method) > 256:
        return types.INVALID_REQUEST, "method: must be a method name (a string), e.g. tools/call"
    if params is not None and not isinstance(params, dict):
        return types.INVALID_PARAMS, f"params: must be an object, not {_kind(params)}"
    if method == "tools/call":
        params = params or {}
        if not isinstance(params.get("name"), str):
            return types.INVALID_PARAMS, "params.name: must be a tool name (a string): see tools/list"
        arguments = params.get("arguments")
        if arguments is not None and not isinstance(arguments, dict):
            return types.INVALID_PARAMS, f"params.arguments: must be an object, not {_kind(arguments)}"
    return None


@asynccontextmanager
async def guarded_stdio(
    stdin: BinaryIO | None = None, stdout: BinaryIO | None = None, on_refused: OnRefused | None = None
) -> AsyncIterator[
    tuple[MemoryObjectReceiveStream[SessionMessage | Exception], MemoryObjectSendStream[SessionMessage]]
]:
    """(read, write) streams for `Server.run`, over stdin/stdout; only screened messages are read.

    While serving, Python's `sys.stdout` points at stderr, so a stray print cannot corrupt the wire.
    `on_refused` hears every line refused (for the audit log); it runs in a worker thread.
    """
    wire_in = stdin or sys.stdin.buffer
    wire_out = stdout or sys.stdout.buffer
    to_server, read_stream = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    write_stream, to_client = anyio.create_memory_object_stream[SessionMessage](0)
    replies, pending = write_stream.clone(), to_client

    reading = anyio.CancelScope()

    async def read() -> None:
        with reading:
            async with to_server, replies:
                await _read_lines(wire_in, to_server, replies, on_refused)

    async def write() -> None:
        async with pending:
            async for message in pending:
                text = message.message.model_dump_json(by_alias=True, exclude_unset=True)
                await anyio.to_thread.run_sync(_write_line, wire_out, text)

    with redirect_stdout(sys.stderr):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(read)
            tasks.start_soon(write)
            try:
                yield read_stream, write_stream
            finally:  # the server is done: what it answered is written, and the input no longer read
                reading.cancel()
                await write_stream.aclose()


async def _read_lines(
    wire: BinaryIO,
    to_server: MemoryObjectSendStream[SessionMessage | Exception],
    replies: MemoryObjectSendStream[SessionMessage],
    on_refused: OnRefused | None,
) -> None:
    """Line after line until the end of input: messages to the server, refusals straight to the client."""
    while True:
        line, size = await anyio.to_thread.run_sync(_read_line, wire, abandon_on_cancel=True)
        if line is None and size == 0:
            return  # end of input: the client is gone
        if line is None:
            found: SessionMessage | types.JSONRPCError = _error(
                types.INVALID_REQUEST,
                f"the line is {size:,} bytes, over the {MAX_LINE:,} a request may have: "
                "send a smaller request",
            )
            preview = ""
        elif not line.strip():
            continue
        else:
            found, preview = screen(line), line[:200].decode("utf-8", "replace")
        if isinstance(found, SessionMessage):
            await to_server.send(found)
            continue
        await replies.send(SessionMessage(found))
        if on_refused is not None:
            await anyio.to_thread.run_sync(on_refused, found.error.message, preview)


def _read_line(wire: BinaryIO) -> tuple[bytes | None, int]:
    """(the line, its size); (None, size) for a line over `MAX_LINE`, skipped unread; (None, 0) at the end."""
    line = wire.readline(MAX_LINE + 1)
    if not line:
        return None, 0
    if len(line) <= MAX_LINE or line.endswith(b"\n"):
        return line, len(line)
    size = len(line)
    while line and not line.endswith(b"\n"):  # skip the rest a chunk at a time, never holding it
        line = wire.readline(MAX_LINE)
        size += len(line)
    return None, size


def _write_line(wire: BinaryIO, text: str) -> None:
    wire.write(text.encode("utf-8") + b"\n")
    wire.flush()


def _error(code: int, message: str, ident: int | str | None = None) -> types.JSONRPCError:
    return types.JSONRPCError(jsonrpc="2.0", id=ident, error=types.ErrorData(code=code, message=message))


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _valid_id(ident: Any) -> bool:
    if isinstance(ident, bool):
        return False
    if isinstance(ident, int):
        return abs(ident) < MAX_ID
    return isinstance(ident, str) and len(ident) <= 256


def _kind(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "true/false", type(None): "null"}.get(
        type(value), "a number"
    )
