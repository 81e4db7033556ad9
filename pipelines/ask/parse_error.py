"""`ParseError`: a question the parsers refuse, with what was not understood and questions that work.

Its own module because every step of reading a question (names, dates, amounts, the rule and LLM
parsers) refuses the same way, and the steps must not import the parser that calls them.
"""

from __future__ import annotations

EXAMPLE = (
    '"Show me all unpaid invoices from last month over 1000 dollars", '
    '"How much did Acme Corp pay us this quarter?", "invoice #1043", '
    '"create an invoice for Acme Corp for $500 for consulting"'
)


class ParseError(ValueError):
    """The question was not understood (or asks for something not available): what, and what works."""

    def __init__(self, problem: str, example: str = EXAMPLE) -> None:
        self.problem = problem
        super().__init__(f"{problem}. Questions that work: {example}")
