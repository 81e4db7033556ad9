"""How deep a parsed JSON document nests, measured without recursion: a hostile body of a million
brackets must not exhaust the stack of the code that checks it. Webhook bodies, platform records and MCP
requests are all refused past the same bound."""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 32  # objects and arrays inside one another; Intuit's payloads nest 6 deep, a platform record 4


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether objects and arrays nest more than `limit` levels; stops at the first that does."""
    stack = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            if level > limit:
                return True
            stack.extend((child, level + 1) for child in (node.values() if isinstance(node, dict) else node))
    return False
