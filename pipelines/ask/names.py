"""Customer and vendor names: the known ones from the warehouse, and finding one in a question.

Names are only ever data: a name found here goes into a `Filters` field as QBO spells it, never into a
query. Known names match first (exact, longest first), then quoted, then as people say them (the start
or a part of a name, a possessive, without its Inc/LLC: name_words.py), then a difflib fallback for
typos. A phrase that several names answer to is refused with them as `candidates` (and the question
asked again with the first), never guessed; a capitalised name after "for", "from"... that is not known
is refused with the three closest known ones.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from pipelines.ask.folded_text import NORMAL_PUNCTUATION, MaskedText, fold, fold_with_index
from pipelines.ask.name_words import STOP, PartialNames, PartMatch
from pipelines.ask.parse_error import MAX_CANDIDATES, ParseError
from pipelines.runtime.warehouse_sql import WarehouseSQL, bytewise, open_warehouse
from pipelines.runtime.warehouse_target import Warehouse

CUSTOMER, VENDOR = "customer", "vendor"
_NAME_CUE = re.compile(
    r"(?:^|\s)(?:for|from|by|to|with|of|about|customer|client|vendor|supplier|named|called)\s+$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class NameMatch:
    """A known (or quoted) name found in a question; `start`/`end` index the text that was searched."""

    name: str
    kinds: frozenset[str]
    start: int
    end: int
    fuzzy: bool = False


class NameIndex:
    """Known customer and vendor display names, matched in a question without SQL or a network.

    Exact (case-, accent- and `&`/`and`-insensitive) matches win, longest first, so "Acme Corporation
    Ltd" is not read as "Acme Corp"; a difflib fallback over word n-grams catches typos. The display
    name as QBO spells it is what comes back.
    """

    def __init__(self, customers: Iterable[str] = (), vendors: Iterable[str] = ()) -> None:
        self._names: dict[str, tuple[str, set[str]]] = {}
        for kind, names in ((CUSTOMER, customers), (VENDOR, vendors)):
            for name in names:
                key = fold(name or "")
                if key:
                    self._names.setdefault(key, (name.strip(), set()))[1].add(kind)
        self._by_words: dict[int, list[str]] = {}
        for key in self._names:
            self._by_words.setdefault(len(key.split()), []).append(key)
        self.parts = PartialNames((key, name) for key, (name, _) in self._names.items())

    def __len__(self) -> int:
        return len(self._names)

    @classmethod
    def from_warehouse(cls, warehouse: Warehouse, realm_id: str | None = None) -> NameIndex:
        """The live names of the warehouse's staging models (read only: it may be mid-sync), from a
        DuckDB file or a PostgreSQL URL (`Settings.warehouse_target`)."""
        with open_warehouse(warehouse) as db:
            return cls.from_db(db, realm_id)

    @classmethod
    def from_db(cls, db: WarehouseSQL, realm_id: str | None = None) -> NameIndex:
        """The live names, on a warehouse already open."""
        lists: dict[str, list[str]] = {}
        built = db.tables("staging")  # a realm with no vendors synced yet has no vendors model
        for kind, table in ((CUSTOMER, "stg_qbo__customers"), (VENDOR, "stg_qbo__vendors")):
            # QBO renames a list record it deletes to "Name (deleted)": never a name to offer
            sql = f"SELECT display_name FROM staging.{table} WHERE NOT is_deleted"
            sql += " AND display_name NOT LIKE '%(deleted)'"
            params: list[str] = []
            if realm_id is not None:
                sql += " AND realm_id = ?"
                params.append(realm_id)
            # in one order on both engines: a typo two names match equally well reads as the same one
            sql += f" AND display_name IS NOT NULL ORDER BY {bytewise('display_name', db.dialect)}"
            lists[kind] = [row[0] for row in db.all(sql, params)] if table in built else []
        return cls(lists[CUSTOMER], lists[VENDOR])

    def display(self, name: str) -> str | None:
        """The display name as QBO spells it, for a name typed in any case or accent."""
        entry = self._names.get(fold(name))
        return entry[0] if entry else None

    def kinds(self, name: str) -> frozenset[str]:
        entry = self._names.get(fold(name))
        return frozenset(entry[1]) if entry else frozenset()

    def find(self, text: str) -> NameMatch | None:
        """The best name in `text` (spans index `text`), or None."""
        folded, index = fold_with_index(
            text.translate(NORMAL_PUNCTUATION)
        )  # a one-for-one translation: spans stay `text`'s
        mask = [False] * len(folded)
        found = self._exact(folded, mask) or self._fuzzy(folded, mask)
        if not found:
            return None
        m = found[0]
        return NameMatch(m.name, m.kinds, index[m.start], index[m.end - 1] + 1, m.fuzzy)

    def suggest(self, name: str) -> str | None:
        """The closest known name, for a "did you mean" in an error."""
        close = self.closest(name)
        return close[0] if close else None

    def closest(self, name: str) -> list[str]:
        """The (at most three) known names closest to a typed one, closest first."""
        return [self._names[key][0] for key in self.parts.closest(fold(name))]

    def known(self, key: str) -> tuple[str, frozenset[str]]:
        """The display name and kinds of a folded key."""
        name, kinds = self._names[key]
        return name, frozenset(kinds)

    def _exact(self, folded: str, mask: list[bool]) -> list[NameMatch]:
        hits: list[NameMatch] = []
        for key, (name, kinds) in self._names.items():
            start = folded.find(key)
            while start != -1:
                end = start + len(key)
                before_ok = not key[0].isalnum() or start == 0 or not folded[start - 1].isalnum()
                after_ok = not key[-1].isalnum() or end == len(folded) or not folded[end].isalnum()
                if before_ok and after_ok and not any(mask[start:end]):
                    hits.append(NameMatch(name, frozenset(kinds), start, end))
                start = folded.find(key, start + 1)
        hits.sort(key=lambda m: (-(m.end - m.start), m.start))
        chosen: list[NameMatch] = []
        for hit in hits:
            if not any(hit.start < c.end and c.start < hit.end for c in chosen):
                chosen.append(hit)
        return chosen

    def _fuzzy(self, folded: str, mask: list[bool], cutoff: float = 0.85) -> list[NameMatch]:
        if not self._names:
            return []
        tokens = [m.span() for m in re.finditer(r"\S+", folded) if not any(mask[m.start() : m.end()])]
        longest = max(self._by_words) + 1
        best: tuple[float, int, NameMatch] | None = None
        for i in range(len(tokens)):
            for n in range(1, longest + 1):
                if i + n > len(tokens):
                    break
                start, end = tokens[i][0], tokens[i + n - 1][1]
                if any(mask[start:end]):
                    break
                raw = folded[start:end]
                gram = raw.lstrip("\"'(").rstrip("\"'?.,!:;)")
                gram = gram.removesuffix("'s")
                start += len(raw) - len(raw.lstrip("\"'("))
                end = start + len(gram)
                if len(gram) < 4 or all(w.strip(".,?!") in STOP for w in gram.split()):
                    continue
                candidates = [k for w in (n - 1, n, n + 1) for k in self._by_words.get(w, [])]
                for key in difflib.get_close_matches(gram, candidates, n=3, cutoff=cutoff):
                    ratio = difflib.SequenceMatcher(None, gram, key).ratio()
                    if best is None or (ratio, end - start) > (best[0], best[1]):
                        name, kinds = self._names[key]
                        best = (ratio, end - start, NameMatch(name, frozenset(kinds), start, end, fuzzy=True))
        return [best[2]] if best else []


def take_name(t: MaskedText, names: NameIndex) -> NameMatch | None:
    """Known names first (exact, quoted, as said, then fuzzy); an unknown capitalised name is refused
    with the closest known ones, and a phrase several names answer to with all of them."""
    exact = names._exact(t.folded, [False] * len(t.folded))
    if exact:
        t.mask(exact[0].start, exact[0].end)
        return exact[0]
    quoted = re.search(r"\"([^\"]{1,100})\"|(?:(?<=\s)|^)'([^']{1,100})'(?=[\s.,?!;:]|$)", t.folded)
    if quoted:
        s, e = quoted.span(1) if quoted.group(1) else quoted.span(2)
        typed = t.orig(s, e).strip()
        if typed:
            t.mask(quoted.start(), quoted.end())
            kinds = names.kinds(typed) or frozenset({CUSTOMER, VENDOR})
            return NameMatch(names.display(typed) or typed, kinds, s, e)
    said = names.parts.find(t)
    fuzzy = names._fuzzy(t.folded, [False] * len(t.folded))
    # a typo of a longer name ("Acme Corpp") is that name, not the part of it typed right ("Acme")
    if fuzzy and (said is None or fuzzy[0].end - fuzzy[0].start > said.end - said.start):
        t.mask(fuzzy[0].start, fuzzy[0].end)
        return fuzzy[0]
    if said:
        return _said_name(t, names, said)
    unknown = _capitalised(t)
    if unknown is None:
        return None
    s, e, typed = unknown
    if len(names):
        close = names.closest(typed)
        hint = " or ".join(", ".join(repr(c) for c in close).rsplit(", ", 1)) if close else ""
        raise ParseError(
            f"no customer or vendor named {typed!r} is known"
            + (f" (did you mean {hint}?)" if hint else "")
            + "; put a name in double quotes to use it exactly as written",
            candidates=close,
            rephrase=_rephrased(t, s, e, close[0]) if close else None,
        )
    t.mask(s, e)
    return NameMatch(typed, frozenset({CUSTOMER, VENDOR}), s, e)


def _said_name(t: MaskedText, names: NameIndex, found: PartMatch) -> NameMatch:
    """A name as people say it ("Norton Lumber", "acme's", "Coastal Medical Supplies" for its "Inc."),
    masked; several names it could be are a `ParseError` listing them, never a guess."""
    typed = t.orig(found.start, found.end)
    if len(found.keys) == 1:
        name, kinds = names.known(found.keys[0])
        t.mask(found.start, found.end)
        return NameMatch(name, kinds, found.start, found.end, fuzzy=not found.exact)
    shown = sorted((names.known(k)[0] for k in found.keys), key=lambda n: (fold(n), n))
    more = len(shown) - MAX_CANDIDATES
    raise ParseError(
        f"{typed!r} could be {len(shown)} customers or vendors: "
        + "; ".join(shown[:MAX_CANDIDATES])
        + (f" and {more} more (say more of the name)" if more > 0 else "")
        + "; which one? put it in double quotes",
        candidates=shown,
        rephrase=_rephrased(t, found.start, found.end, shown[0]),
    )


def _rephrased(t: MaskedText, start: int, end: int, name: str) -> str:
    """The question as typed, with the folded span `start:end` replaced by `name` in double quotes."""
    a, b = t.index[start], t.index[end - 1] + 1
    return f'{t.original[:a]}"{name}"{t.original[b:]}'


def _capitalised(t: MaskedText) -> tuple[int, int, str] | None:
    """Capitalised words after "for", "from", "customer"... or before "'s": a name not in the index."""
    words = list(re.finditer(r"\S+", t.original))
    folded_start = {i: j for j, i in reversed(list(enumerate(t.index)))}
    did = re.search(r"\b(?:did|has|have)\s+(.+?)\s+(?:pay|paid)\b", t.original, re.IGNORECASE)
    if did and did.group(1)[:1].isupper() and did.group(1).lower() not in ("we", "i", "you", "they"):
        s, e = did.span(1)
        return folded_start[s], folded_start[e - 1] + 1, did.group(1).strip("\"'")
    for k, word in enumerate(words):
        cue = _NAME_CUE.search(t.original[: word.start()])
        possessive = word.group(0).endswith("'s")
        if not (cue or possessive) or not word.group(0)[:1].isupper():
            continue
        run = [word]
        while not run[-1].group(0).endswith(("'s", ",", "?", ".", "!")) and k + len(run) < len(words):
            nxt = words[k + len(run)]
            token = nxt.group(0)
            follows = k + len(run) + 1 < len(words) and words[k + len(run) + 1].group(0)[:1].isupper()
            if token[:1].isupper() or (token in ("&", "and", "of", "the", "de", "-") and follows):
                run.append(nxt)
            else:
                break
        typed = t.original[run[0].start() : run[-1].end()].rstrip(",?.!").removesuffix("'s")
        if not typed or fold(typed.split()[0]) in STOP or re.fullmatch(r"q[1-4]", fold(typed.split()[0])):
            continue
        if not possessive and not cue:
            continue
        s = folded_start[run[0].start()]
        return s, s + len(fold(typed)), typed
    return None
