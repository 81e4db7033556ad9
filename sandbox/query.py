"""The QBO query language (reference/QBO_API.md §1), parsed into a small AST.

    SELECT * | COUNT(*) FROM Entity
      [WHERE prop op value [AND prop op value]...]      op: = < > <= >= IN LIKE
      [ORDERBY | ORDER BY prop [ASC|DESC] [, ...]]
      [STARTPOSITION n] [MAXRESULTS n]                  in either order

Keywords are case-insensitive, entity names are not (as documented). Values are quoted strings
with backslash escapes, numbers, true/false, or a parenthesised list for IN. Syntax errors raise
fault 4000, semantic ones (unknown entity, bad paging values) fault 4001.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sandbox import faults
from sources.quickbooks.catalog import ENTITIES

DEFAULT_MAX_RESULTS = 100
MAX_RESULTS_CAP = 1000  # a larger MAXRESULTS is capped, not refused (QBO_API.md §1 leaves it open)

OPERATORS = ("=", "<", ">", "<=", ">=", "IN", "LIKE")

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:\\.|[^'\\])*')
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),*])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Literal:
    kind: str  # "str" | "num" | "bool"
    value: str | float | bool


@dataclass(frozen=True)
class Condition:
    prop: str
    op: str
    values: tuple[Literal, ...]  # one value, or several for IN


@dataclass(frozen=True)
class Order:
    prop: str
    descending: bool = False


@dataclass(frozen=True)
class Query:
    entity: str
    count: bool = False
    where: tuple[Condition, ...] = ()
    order: tuple[Order, ...] = ()
    start_position: int = 1
    max_results: int = DEFAULT_MAX_RESULTS

    def filters_on(self, prop: str) -> bool:
        return any(c.prop == prop for c in self.where)


@dataclass
class _Tokens:
    items: list[tuple[str, str]]
    text: str
    pos: int = field(default=0)

    def peek(self) -> tuple[str, str] | None:
        return self.items[self.pos] if self.pos < len(self.items) else None

    def peek_word(self) -> str | None:
        tok = self.peek()
        return tok[1].upper() if tok and tok[0] == "ident" else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise faults.query_parse(f'Encountered "<EOF>" at end of query "{self.text}".')
        self.pos += 1
        return tok

    def expect_word(self, word: str) -> None:
        kind, value = self.take()
        if kind != "ident" or value.upper() != word:
            raise _unexpected(value, word)

    def expect(self, kind: str, value: str | None = None) -> str:
        got_kind, got = self.take()
        if got_kind != kind or (value is not None and got != value):
            raise _unexpected(got, value or kind)
        return got


def _unexpected(got: str, expected: str) -> faults.QboFault:
    return faults.query_parse(f'Encountered " "{got}" "". Was expecting: "{expected}"')


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise faults.query_parse(f'Lexical error at column {pos + 1}. Encountered: "{text[pos]}"')
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append((kind, match.group()))
        pos = match.end()
    return tokens


def parse(text: str) -> Query:
    toks = _Tokens(tokenize(text), text)
    toks.expect_word("SELECT")
    count = False
    if toks.peek() == ("punct", "*"):
        toks.take()
    elif toks.peek_word() == "COUNT":
        toks.take()
        toks.expect("punct", "(")
        toks.expect("punct", "*")
        toks.expect("punct", ")")
        count = True
    else:
        raise _unexpected(toks.take()[1], "*")
    toks.expect_word("FROM")
    entity = toks.expect("ident")
    if entity not in ENTITIES:
        raise faults.invalid_query(f"invalid context declaration: {entity}")

    where: list[Condition] = []
    if toks.peek_word() == "WHERE":
        toks.take()
        where.append(_condition(toks))
        while toks.peek_word() == "AND":
            toks.take()
            where.append(_condition(toks))

    order: list[Order] = []
    word = toks.peek_word()
    if word in ("ORDERBY", "ORDER"):
        toks.take()
        if word == "ORDER":
            toks.expect_word("BY")
        order.append(_order(toks))
        while toks.peek() == ("punct", ","):
            toks.take()
            order.append(_order(toks))

    start, max_results = 1, DEFAULT_MAX_RESULTS
    seen: set[str] = set()
    while (word := toks.peek_word()) in ("STARTPOSITION", "MAXRESULTS") and word not in seen:
        toks.take()
        seen.add(word)
        number = toks.expect("number")
        if "." in number:
            raise faults.query_parse(f'Encountered " <DECIMAL> "{number}"". Was expecting: <INTEGER>')
        value = int(number)
        if value < 1:
            raise faults.invalid_query(f"value {value} is too small. Min allowed value is 1")
        if word == "STARTPOSITION":
            start = value
        else:
            max_results = min(value, MAX_RESULTS_CAP)

    if toks.peek() is not None:
        raise _unexpected(toks.take()[1], "<EOF>")
    return Query(entity, count, tuple(where), tuple(order), start, max_results)


def _prop(toks: _Tokens) -> str:
    name = toks.expect("ident")
    if name.startswith("Metadata."):
        name = "MetaData." + name[len("Metadata.") :]
    return name


def _condition(toks: _Tokens) -> Condition:
    prop = _prop(toks)
    kind, op = toks.take()
    op = op.upper()
    if (kind == "op" and op not in OPERATORS) or (kind == "ident" and op not in ("IN", "LIKE")):
        raise _unexpected(op, "one of = < > <= >= IN LIKE")
    if kind not in ("op", "ident"):
        raise _unexpected(op, "an operator")
    if op == "IN":
        toks.expect("punct", "(")
        values = [_literal(toks)]
        while toks.peek() == ("punct", ","):
            toks.take()
            values.append(_literal(toks))
        toks.expect("punct", ")")
        return Condition(prop, op, tuple(values))
    value = _literal(toks)
    if op == "LIKE" and value.kind != "str":
        raise faults.invalid_query(f"LIKE needs a quoted pattern, got {value.value}")
    return Condition(prop, op, (value,))


def _literal(toks: _Tokens) -> Literal:
    kind, raw = toks.take()
    if kind == "string":
        return Literal("str", re.sub(r"\\(.)", r"\1", raw[1:-1]))
    if kind == "number":
        return Literal("num", float(raw))
    if kind == "ident" and raw.lower() in ("true", "false"):
        return Literal("bool", raw.lower() == "true")
    raise _unexpected(raw, "a value")


def _order(toks: _Tokens) -> Order:
    prop = _prop(toks)
    descending = False
    if toks.peek_word() in ("ASC", "DESC"):
        descending = toks.take()[1].upper() == "DESC"
    return Order(prop, descending)
