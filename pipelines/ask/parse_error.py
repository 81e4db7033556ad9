"""`ParseError`: a question the parsers refuse, with what was not understood and questions that work.

Its own module because every step of reading a question (names, dates, amounts, the rule and LLM
parsers) refuses the same way, and the steps must not import the parser that calls them. A name that
several records answer to, or none, is refused with `candidates`: the names it could be, so a person (or
an agent) picks one and asks again instead of being refused blindly or answered about the wrong record.
"""

from __future__ import annotations

from collections.abc import Iterable

EXAMPLE = (
    '"Show me all unpaid invoices from last month over 1000 dollars", '
    '"How much did Björn Dubois pay us this quarter?", "invoice #1043", '
    '"create an invoice for Amy\'s Bird Sanctuary for 3 hours of consulting at 150"'
)
MAX_CANDIDATES = 10  # a choice a person reads at a glance; the message says how many more there were


class ParseError(ValueError):
    """The question was not understood (or asks for something not available): what, and what works.

    `candidates` are the known names the question may have meant (at most `MAX_CANDIDATES`), and
    `rephrase` the question asked again with the first of them, quoted: what to type next.
    """

    def __init__(
        self,
        problem: str,
        example: str = EXAMPLE,
        candidates: Iterable[str] = (),
        rephrase: str | None = None,
    ) -> None:
        self.problem = problem
        self.candidates: tuple[str, ...] = tuple(candidates)[:MAX_CANDIDATES]
        self.rephrase = rephrase
        super().__init__(f"{problem}. Questions that work: {example}")

    def as_json(self) -> dict[str, object]:
        """The refusal as `qbo ask --json` prints it: the message, the candidates, what to ask instead."""
        return {"error": str(self), "candidates": list(self.candidates), "rephrase": self.rephrase}
