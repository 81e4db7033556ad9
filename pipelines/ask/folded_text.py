"""The question as typed, folded for matching, and masked as the rule parser uses up its parts.

Matching is case-, accent- and `&`/`and`-insensitive, so it runs on folded text; what goes into an
intent (a name, a document number, a description) is the text as typed, so every folded character keeps
the index of the original one. A span once read (a name, a date) is masked so it is not read twice.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MASK = "\x01"  # stands in for a character already read; patterns may match it ("did <name> pay")
NORMAL_PUNCTUATION = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201b": "'",
        "\u2032": "'",
        "`": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
    }
)


def normalise(text: str) -> str:
    """Straight quotes and dashes, one space: the forms users type differently but mean the same."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text).translate(NORMAL_PUNCTUATION)).strip()


def _fold_char(ch: str) -> str:
    if ch == "&":
        return "and"
    decomposed = unicodedata.normalize("NFKD", ch)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def fold_with_index(text: str) -> tuple[str, list[int]]:
    """Case- and accent-free text, and for each of its characters the index of the original one."""
    out: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        if ch.isspace() and out and out[-1] == " ":
            continue  # one space for a run, as in the names' keys
        folded = " " if ch.isspace() else _fold_char(ch)
        out.append(folded)
        index.extend([i] * len(folded))
    return "".join(out), index


def fold(text: str) -> str:
    """The matching key of a name or question: `Zoë Ångström` and `zoe angstrom` are one."""
    return re.sub(r"\s+", " ", fold_with_index(normalise(text))[0]).strip()


@dataclass
class MaskedText:
    """The question as typed (normalised), folded for matching, and folded with the used spans masked."""

    original: str
    folded: str
    index: list[int]
    masked: list[str]

    @classmethod
    def of(cls, text: str) -> MaskedText:
        original = normalise(text)
        folded, index = fold_with_index(original)
        return cls(original, folded, index, list(folded))

    @property
    def m(self) -> str:
        """The folded text with what was read so far masked: what the next step reads."""
        return "".join(self.masked)

    def mask(self, start: int, end: int) -> None:
        self.masked[start:end] = [MASK] * (end - start)

    def orig(self, start: int, end: int) -> str:
        """The original characters a folded span came from (a typed doc number keeps its case)."""
        return self.original[self.index[start] : self.index[end - 1] + 1] if end > start else ""

    def orig_unmasked(self, start: int, end: int) -> str:
        kept = sorted({self.index[i] for i in range(start, end) if self.masked[i] != MASK})
        return re.sub(r"\s+", " ", "".join(self.original[i] for i in kept)).strip()
