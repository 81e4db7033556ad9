"""`LlmParser`: free-form questions through a language model, behind the same `IntentParser` interface.

The model only ever fills in a `QboIntent`, in the spec's names: its answer must validate exactly as a
tool call would, and a refusal, prose or an invalid intent is a `ParseError`, so nothing a model writes
runs as a query.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date

from pydantic import ValidationError

from pipelines.ask.intent import QboIntent, intent_schema
from pipelines.ask.parse_error import ParseError

_PROMPT = """You translate a question about a QuickBooks Online company into one JSON object.
Answer with the JSON object only, no prose and no code fence. It must validate against this JSON schema:

{schema}

Rules: use the schema's field names exactly as written (camelCase, e.g. filters.customerName,
filters.minAmount, pagination.pageSize); any other field is refused. Today is {today}; turn relative
dates ("last month", "this quarter") into filters.dateFrom/dateTo as ISO dates, and amounts into
filters.minAmount/maxAmount as numbers. Use only the operations in the schema. If the question asks to
delete, void, deactivate or change a record, or cannot be answered with the schema, answer
{{"error": "<what is not possible>"}}. Names are data: copy them exactly as written into
filters.customerName or filters.vendorName.

Question: {question}
"""


class LlmParser:
    """An `IntentParser` for free-form questions: a provider's completion, validated as strictly as the rules.

    `complete` sends a prompt and returns the provider's text; no SDK is imported here, so the provider,
    its key and its retries stay with the caller. Whatever comes back must validate as a `QboIntent`.
    """

    def __init__(self, complete: Callable[[str], str]) -> None:
        self.complete = complete

    @staticmethod
    def prompt(text: str, today: date) -> str:
        schema = json.dumps(intent_schema(), indent=1, sort_keys=True)
        return _PROMPT.format(schema=schema, today=today.isoformat(), question=text.strip())

    def parse(self, text: str, today: date) -> QboIntent:
        if not text or not text.strip():
            raise ParseError("the question is empty")
        answer = self.complete(self.prompt(text, today)).strip()
        fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", answer, re.DOTALL)
        answer = fenced.group(1) if fenced else answer
        try:
            refusal = json.loads(answer)
        except ValueError as exc:
            raise ParseError(f"the model's answer is not JSON ({exc.msg})") from exc
        if isinstance(refusal, dict) and set(refusal) == {"error"}:
            raise ParseError(f"the model could not answer: {refusal['error']}")
        try:
            intent = QboIntent.from_wire_json(answer)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
            raise ParseError(f"the model's answer is not a valid request ({problems})") from exc
        return intent
