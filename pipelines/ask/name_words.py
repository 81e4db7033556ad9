"""Names as people say them: the start of a name, a word of it, a possessive, without its Inc or LLC.

A bookkeeper says "Norton Lumber" for "Norton Lumber and Building Materials", "Acme's invoices", "Coastal
Medical Supplies" for "Coastal Medical Supplies Inc."; QBO keeps the full display name. Each known name
is kept as its words (folded: no case, accents or punctuation; apostrophes dropped; a trailing Inc, LLC,
Co., Ltd... and a leading "The" left out) and a question's words are looked up among them, whole words
only, so "Lumber" finds "Norton Lumber and Building Materials" but "Lumb" does not.

A phrase is only taken for a name where people put names: capitalised, after "for", "from", "by"...,
or followed by "'s"; and never when it is made only of words a question is made of ("overdue", "May",
"invoices"), so a customer called "Overdue Ltd" does not turn "overdue invoices" into its invoices. The
matching is data to data: the words found go nowhere but back to a display name.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise

from pipelines.ask.folded_text import MaskedText

# what a company's name ends with but nobody says: "Acme" is "Acme Inc.", "Acme LLC", "Acme Co."
_NOISE_WORDS = "inc incorporated llc llp lp ltd limited co company plc gmbh kg ag sa pty corp corporation"
NOISE = frozenset(_NOISE_WORDS.split())
# "corp" is noise at the end of what is typed, never of a known name: "Acme Corp" and "Acme Corporation
# Ltd" stay two names, and "Acme Corp Inc" typed still finds "Acme Corp"
_TYPED_ONLY_NOISE = frozenset({"corp", "corporation"})
# words after which a name comes: "invoices for Norton", "bills from norton lumber", "did Acme pay"
_CUE_WORDS = (
    "for from by to with of about customer client vendor supplier named called did has have does owe owes"
)
CUES = frozenset(_CUE_WORDS.split())
# words that are never a name on their own: a phrase made only of them is not looked up
_STOP_WORDS = """
    a an the all any my our us we me i you it its of for from by to with in on at and or is are was were
    be been have has had do does did show list find which what who how much many get give tell please can
    could would some each every this that these those last next past previous prior since before after
    between until through over under above below more less than at least most total sum count number
    invoice invoices bill bills payment payments customer customers vendor vendors client clients paid pay
    unpaid open overdue void voided due late outstanding month months year years week weeks day days
    quarter today yesterday january february march april may june july august september october november
    december jan feb mar apr jun jul aug sep sept oct nov dec dollars details about top sales owe owes
    owed balance balances average create draft new hours hour units unit each per an"""
STOP = frozenset(_STOP_WORDS.split())
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_JOINS = re.compile(r"[\s.\-/]*")  # what may stand between two words of one name ("Co. Inc", "Blue-Ridge")
CLOSEST, CLOSE_ENOUGH = 3, 0.25  # an unknown name gets the three closest names, unless nothing is near


def _strip(words: list[str], noise: frozenset[str] = NOISE) -> list[str]:
    while words and words[-1] in noise:
        words = words[:-1]
    if words and words[0] == "the":
        words = words[1:]
    return words


def name_words(folded: str) -> tuple[str, ...]:
    """The words a (folded) name is known by: no punctuation or apostrophes, no trailing Inc/LLC/Co."""
    words = [w.replace("'", "") for w in _WORD.findall(folded)]
    return tuple(_strip(words, NOISE - _TYPED_ONLY_NOISE) or words)


@dataclass(frozen=True)
class Token:
    start: int  # in the folded text
    end: int
    word: str  # apostrophes dropped: "amy's" -> "amys"
    base: str | None  # a possessive's owner: "acme's" -> "acme"
    eligible: bool  # where a name may start: capitalised, or after a cue word


@dataclass(frozen=True)
class PartMatch:
    """The words of a question that name one or several known names (keys of the index)."""

    start: int
    end: int
    keys: tuple[str, ...]
    exact: bool  # the whole name, only without its Inc/LLC/Co. or apostrophes


def tokens(t: MaskedText) -> list[Token]:
    """The question's words, with where a name may start (capitalised as typed, or after a cue)."""
    found: list[Token] = []
    for m in _WORD.finditer(t.m):
        word = m.group(0)
        capital = t.original[t.index[m.start()]].isupper()
        after_cue = bool(found) and found[-1].word in CUES and not t.m[found[-1].end : m.start()].strip()
        base = word[:-2] if word.endswith("'s") and len(word) > 2 else None
        found.append(Token(m.start(), m.end(), word.replace("'", ""), base, capital or after_cue))
    return found


class PartialNames:
    """Known names by their words: which names a phrase of a question is the start, a part or the whole of."""

    def __init__(self, names: Iterable[tuple[str, str]]) -> None:
        """`names`: (key, display name) pairs, the key being the folded display name."""
        self.words: dict[str, tuple[str, ...]] = {}
        self.by_word: dict[str, set[str]] = {}
        for key, _display in names:
            words = name_words(key)
            self.words[key] = words
            for word in set(words):
                self.by_word.setdefault(word, set()).add(key)
        self.longest = max((len(w) for w in self.words.values()), default=0)

    def containing(self, phrase: tuple[str, ...]) -> tuple[list[str], bool]:
        """The keys whose words hold `phrase` in a row, and whether some name is exactly the phrase (then
        only those: "Melton Plumbing" is not also a part of "Melton Plumbing Supply")."""
        sets = [self.by_word.get(w) for w in phrase]
        if not phrase or any(s is None for s in sets):
            return [], False
        keys = set.intersection(*sets)  # type: ignore[arg-type]
        n = len(phrase)
        held = [k for k in keys if any(self.words[k][i : i + n] == phrase for i in range(len(self.words[k])))]
        equal = [k for k in held if self.words[k] == phrase]
        return (equal, True) if equal else (held, False)

    def find(self, t: MaskedText) -> PartMatch | None:
        """The longest phrase of the question that is (part of) a known name; the first of the longest."""
        toks = tokens(t)
        best: tuple[int, PartMatch] | None = None
        for i, first in enumerate(toks):
            if not first.eligible:
                continue
            for n in range(min(self.longest + 2, len(toks) - i), 0, -1):  # + typed noise ("Co. Inc")
                if best is not None and n <= best[0]:
                    break
                run = toks[i : i + n]
                if not all(_JOINS.fullmatch(t.m[a.end : b.start]) for a, b in pairwise(run)):
                    continue
                found = self._run(run)
                if found is not None:
                    keys, exact, end = found
                    best = (n, PartMatch(first.start, end, keys, exact))
                if best is not None and best[0] == n:
                    break
        return best[1] if best else None

    def _run(self, run: list[Token]) -> tuple[tuple[str, ...], bool, int] | None:
        """The names a run of words is (part of): inside the run "Diego's" is a word of a name ("Diego's
        Road Warrior"); at its end it may also be a possessive ("Diego's bills": "Diego Peña"), and then
        both readings are candidates. (keys, whether exact, where the name ends) or None."""
        last = run[-1]
        found: dict[str, bool] = {}
        end = last.end
        for word in (last.word, last.base) if last.base else (last.word,):
            words = _strip([*(tok.word for tok in run[:-1]), word])
            if not words or all(w in STOP or w.isdigit() for w in words):
                continue
            keys, exact = self.containing(tuple(words))
            if keys and word == last.base and not found:
                end = last.start + len(word)  # "Acme's": the name is "Acme"
            for key in keys:
                found[key] = found.get(key, False) or exact
        if not found:
            return None
        exact = [k for k, e in found.items() if e]  # the whole name (but its Inc/LLC) wins over parts
        return tuple(sorted(exact or found)), bool(exact), end

    def closest(self, folded: str, n: int = CLOSEST) -> list[str]:
        """The keys of the `n` names closest to a typed one: to the whole name, or to its first words
        ("Norton Lumbr" is close to "Norton Lumber and Building Materials")."""
        typed = " ".join(name_words(folded))
        if not typed:
            return []
        scored: list[tuple[float, str]] = []
        for key, words in self.words.items():
            whole, head = " ".join(words), " ".join(words[: max(1, len(typed.split()))])
            matcher = difflib.SequenceMatcher(None, typed, whole)
            ratio = matcher.ratio()
            if head != whole:
                ratio = max(ratio, 0.95 * difflib.SequenceMatcher(None, typed, head).ratio())
            if ratio >= CLOSE_ENOUGH:
                scored.append((-ratio, key))
        return [key for _, key in sorted(scored)[:n]]
