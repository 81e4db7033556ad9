"""Issue 18, item 4: every command a message suggests is one that runs.

The source's strings (pipelines/, sources/, service/, flows/, sandbox/; f-strings with their
placeholders as `{}`) are searched for suggested commands: `qbo ...` in backticks, or after "run",
"Run:", "try:", "from", "(" or ": ". Each must name an existing command path (`qbo <path> --help`
exits 0, in-process through typer's CliRunner on the app with its plugins) and every `--option` it
names must appear in that help. The reconnect advice built at run time (`reconnect_hint`) is checked
the same way. Prose that merely mentions qbo ("what qbo commands use") is not a suggestion.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from pipelines.cli.app import app
from sources.quickbooks.oauth import reconnect_hint

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pipelines", "sources", "service", "flows", "sandbox")
# where a command is suggested: in backticks, or after "run", "Run:", "try:", "from", "(" or ": "
_BACKTICKED = re.compile(r"`(?:uv run )?(qbo [^`]+)`")
_SAID = re.compile(r"(?:\b(?:[Rr]un|[Tt]ry|from)\b:?\s+|\(\s*|:\s+)(qbo [^`;,()]+?)(?=[;,()]|\.(?:\s|$)|$)")
_RUNNER = CliRunner()
_WIDE = {"COLUMNS": "240", "TERMINAL_WIDTH": "240"}  # rich help must not cut an option's name


def _strings(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """Every string constant and f-string of a module (an f-string's fields as `{}`)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value
        elif isinstance(node, ast.JoinedStr):
            parts = [v.value if isinstance(v, ast.Constant) else "{}" for v in node.values]
            yield node.lineno, "".join(str(p) for p in parts)


def suggestions(text: str) -> list[str]:
    """The `qbo ...` commands a piece of text suggests."""
    found = [m.group(1) for m in _BACKTICKED.finditer(text)]
    found += [m.group(1) for m in _SAID.finditer(text) if f"`{m.group(1)}" not in text]
    return [" ".join(command.split()) for command in found]


def suggested_in_source() -> list[tuple[str, str]]:
    """(where, command) for every command suggested in a string of the source."""
    found: set[tuple[str, str]] = set()
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for line, text in _strings(tree):
                for command in suggestions(text):
                    found.add((f"{path.relative_to(ROOT)}:{line}", command))
    return sorted(found)


@cache
def _root() -> Any:
    return typer.main.get_command(app)


@cache
def _help(path: tuple[str, ...]) -> str:
    result = _RUNNER.invoke(app, [*path, "--help"], env=_WIDE)
    assert result.exit_code == 0, f"qbo {' '.join(path)} --help: {result.output}"
    return result.output


def problems(command: str) -> list[str]:
    """What is wrong with a suggested command: an unknown command path, or options its help lacks.
    `a|b` (a list of sub-commands) checks each; `qbo ...` stands for any command."""
    words = command.split()[1:]
    options: list[tuple[tuple[str, ...], str]] = []
    while words and words[0].startswith("-"):  # global options, before the command
        options.append(((), words.pop(0).split("=")[0]))
        if words and not words[0].startswith("-"):
            words.pop(0)  # its value
    if not words and not options:
        return [f"{command!r} names no command"]
    node, path, found = _root(), [], []
    for word in words if words[:1] != ["..."] else []:
        if word.startswith("-"):
            options.append((tuple(path), word.split("=")[0]))
        elif isinstance(commands := getattr(node, "commands", None), dict):  # a group (typer's own click)
            unknown = [name for name in word.split("|") if name not in commands]
            if unknown:
                return [f"{command!r}: `qbo {' '.join([*path, unknown[0]])}` is not a command"]
            found += [(*path, name) for name in word.split("|")[1:]]
            node, path = commands[word.split("|")[0]], [*path, word.split("|")[0]]
        # else: an argument or a placeholder of the leaf command
    for other in found:
        _help(other)  # each listed sub-command's help opens
    return [
        f"{command!r}: `qbo {' '.join(where)} --help` has no {option}"
        for where, option in options
        if option.startswith("--") and option not in re.findall(r"--[\w-]+", _help(where))
    ]


SUGGESTED = suggested_in_source()


def test_the_source_suggests_commands() -> None:
    """The collector finds what it is meant to (so an empty collection cannot pass by itself)."""
    commands = {command for _, command in SUGGESTED}
    assert len(SUGGESTED) > 40
    assert {"qbo transform", "qbo connect --code C --realm R", "qbo disconnect --realm {}"} <= commands
    assert suggestions("what qbo commands use; (entity, qbo id)") == []
    assert suggestions("stored. Run qbo connect --realm {} again and choose") == [
        "qbo connect --realm {} again and choose"
    ]


@pytest.mark.parametrize(("where", "command"), SUGGESTED, ids=[f"{w} {c}" for w, c in SUGGESTED])
def test_every_suggested_command_exists_with_its_options(where: str, command: str) -> None:
    assert problems(command) == [], where


def test_the_reconnect_advice_runs() -> None:
    """The invalid_grant and reconnect messages are built at run time: check what they say."""
    for realm in ("123", None):
        assert problems(reconnect_hint(realm)) == []
    assert problems("qbo connect --realm 123 --code") == []  # the check itself reads options
    assert problems("qbo connect --realms 123") != [] and problems("qbo reconnect") != []
