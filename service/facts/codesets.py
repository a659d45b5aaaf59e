"""Clinical code sets (``rules/codesets/*.csv``): SNOMED CT and ICD-10 codes, prefixes, and
free-text keywords, each row with a source. Loaded once at start-up.

Codes first. A set may declare (``covers`` rows) that it is complete for a code system: a
record carrying a code from a covered system is then judged by its codes alone, and its
words are not read (a coded "Chronic non-malignant pain" is not cancer because its code is
not in the set, whatever its display says). Text is a fallback for records with no code the
set can judge: no coding at all, or only codes from systems it does not cover.

Two kinds of keyword row (issue 9):

- ``contains``: a substring of the text, no negation (the risk-characteristic sets, where a
  family history counts, e.g. rules/codesets/dependence_history.csv);
- ``word``: whole words, refused when negated, uncertain, a family history, or part of a
  phrase that names something else ("malignant hypertension"). The cues and phrases are data,
  ``rules/codesets/text_cues.yaml``. ``*`` at either end of a keyword stands for the rest of
  the word ("*carcinoma" matches "adenocarcinoma").

SNOMED CT descendants need a terminology server, which this service does not call: a set that
covers SNOMED CT lists the descendants, generated from a published code list (tools/).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from pydantic import Field

from service.errors import ReferenceDataError
from service.fhir.clinical_records import CodedRecord
from service.fhir.systems import ICD_10, ICD_10_CM, ICD_10_UK
from service.rulefiles import CsvRow, Sources, StrictModel, Text, read_csv, read_yaml

_SYSTEM_ALIASES = {
    ICD_10_UK: ICD_10,
    ICD_10_CM: ICD_10,
}
#: The file of negation cues and not-this phrases for ``word`` rows, beside the code sets.
TEXT_CUES_FILE = "text_cues.yaml"

#: Words, "?" (a query), and the punctuation that ends a clause. "hodgkin's" is one word.
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[?.;]")

Tokens = tuple[str, ...]


def _tokens(text: str) -> Tokens:
    return tuple(_TOKEN.findall(text.lower()))


def _normalise(system: str, code: str) -> str:
    """ICD-10 codes are compared upper case without the dot ("C25.9" and "C259" are one code,
    as GP systems send both); other codes as sent."""
    code = code.strip()
    if system == ICD_10:
        return code.upper().replace(".", "")
    return code.upper() if "icd" in system else code


@dataclass(frozen=True, slots=True)
class TextCues:
    """When a keyword found in free text does not say the patient has the condition.

    ``attached``: words immediately before the keyword ("non-malignant"). ``before``: words
    at most ``window`` words before it in the same clause ("no", "?", "FH:"). ``after``:
    words at most ``window`` words after it ("cancer ruled out"). ``breaks``: tokens that end
    a clause. ``not_meaning``: phrases that contain a keyword and name something else.
    """

    window: int
    attached: tuple[Tokens, ...]
    before: tuple[Tokens, ...]
    after: tuple[Tokens, ...]
    breaks: frozenset[str]
    not_meaning: tuple[Tokens, ...]

    def refused(self, tokens: Tokens, start: int, end: int) -> bool:
        """Whether the keyword at ``tokens[start:end]`` is negated, qualified or part of a
        phrase that means something else."""
        if any(_inside(tokens, phrase, start, end) for phrase in self.not_meaning):
            return True
        if any(_ends_at(tokens, cue, start) for cue in self.attached):
            return True
        lo = start
        while lo > 0 and start - lo < self.window and tokens[lo - 1] not in self.breaks:
            lo -= 1
        # A cue ends between lo and the keyword: "no evidence of cancer", "FH: breast cancer".
        if any(_ends_at(tokens, cue, k, lo) for cue in self.before for k in range(lo, start + 1)):
            return True
        hi = end
        while hi < len(tokens) and hi - end < self.window and tokens[hi] not in self.breaks:
            hi += 1
        return any(tokens[k : k + len(cue)] == cue for cue in self.after for k in range(end, hi))


def _ends_at(tokens: Tokens, cue: Tokens, k: int, lo: int = 0) -> bool:
    """``cue`` occupies ``tokens[k - len(cue):k]``, starting no earlier than ``lo``."""
    return k - len(cue) >= lo and tokens[k - len(cue) : k] == cue


def _inside(tokens: Tokens, phrase: Tokens, start: int, end: int) -> bool:
    """``tokens[start:end]`` lies within an occurrence of ``phrase``."""
    n = len(phrase)
    return any(
        tokens[k : k + n] == phrase for k in range(max(0, end - n), start + 1) if k + n >= end
    )


@dataclass(frozen=True, slots=True)
class _Word:
    """A ``word`` keyword: its words, the first and last of which may be word parts."""

    words: Tokens
    open_start: bool
    open_end: bool

    def at(self, tokens: Tokens, i: int) -> bool:
        n = len(self.words)
        if i + n > len(tokens):
            return False
        for j, (want, got) in enumerate(zip(self.words, tokens[i : i + n], strict=True)):
            first, last = j == 0, j == n - 1
            if first and last and self.open_start and self.open_end:
                ok = want in got
            elif first and self.open_start:
                ok = got.endswith(want)
            elif last and self.open_end:
                ok = got.startswith(want)
            else:
                ok = got == want
            if not ok:
                return False
        return True


def _plain(display: str) -> str:
    """A SNOMED CT description without its semantic tag: "Hodgkin's disease (disorder)" ->
    "Hodgkin's disease"."""
    return re.sub(r"\s*\([^()]*\)$", "", display.strip())


def _word(keyword: str) -> _Word:
    k = keyword.strip().lower()
    return _Word(_tokens(k.strip("*")), k.startswith("*"), k.endswith("*"))


@dataclass(frozen=True, slots=True)
class CodeSet:
    name: str
    #: (system, code) -> the code set's display, shown when the record's coding has none.
    exact: Mapping[tuple[str, str], str]
    prefixes: tuple[tuple[str, str], ...]
    keywords: tuple[str, ...]
    #: ``word`` keywords: whole words, negation-safe (``cues``).
    words: tuple[_Word, ...] = ()
    #: Code systems the set is complete for: their codes decide alone.
    covers: frozenset[str] = frozenset()
    cues: TextCues | None = None

    def matches(self, record: CodedRecord) -> str | None:
        """What matched ("Hodgkin's disease (118599009)", "'Palliative care' (text)"), or
        None."""
        judged_by_code = False
        for coding in record.codings:
            if coding.system is None or coding.code is None:
                continue
            system = _SYSTEM_ALIASES.get(coding.system, coding.system)
            code = _normalise(system, coding.code)
            if (system, code) in self.exact:
                # A code-only record (no display) still says what it is on the card.
                display = coding.display or _plain(self.exact[(system, code)]) or coding.code
                return f"{display} ({coding.code})"
            for p_system, prefix in self.prefixes:
                if system == p_system and code.startswith(prefix):
                    return f"{coding.display or coding.code} ({coding.code})"
            judged_by_code = judged_by_code or system in self.covers
        if judged_by_code:
            return None
        texts = [record.text or ""] + [c.display or "" for c in record.codings]
        for text in texts:
            if self._text_matches(text):
                return f"'{text}' (text)"
        return None

    def _text_matches(self, text: str) -> bool:
        lowered = text.lower()
        if any(keyword in lowered for keyword in self.keywords):
            return True
        if not self.words:
            return False
        tokens = _tokens(text)
        for word in self.words:
            n = len(word.words)
            for i in range(len(tokens)):
                if word.at(tokens, i) and not (self.cues and self.cues.refused(tokens, i, i + n)):
                    return True
        return False


class CodeSetRow(CsvRow):
    """One row of ``rules/codesets/*.csv``: a code, a code prefix, a keyword looked for in
    free text (system ``text``: ``contains`` a substring, ``word`` whole words and
    negation-safe), or ``covers``: the set is complete for this code system (code ``*``)."""

    system: Text
    match: Literal["exact", "prefix", "contains", "word", "covers"]
    code: Text
    display: str
    source: str
    notes: str


class _CueGroup(StrictModel):
    source: Text
    notes: str = ""
    phrases: list[Text] = Field(min_length=1)


class TextCuesFile(StrictModel):
    """``rules/codesets/text_cues.yaml``."""

    window_words: int = Field(ge=0, le=20)
    clause_breaks: _CueGroup
    attached_before: _CueGroup
    before: _CueGroup
    family_history: _CueGroup
    after: _CueGroup
    not_meaning: _CueGroup


def load_text_cues(path: Path, sources: Sources) -> TextCues:
    data = read_yaml(path, TextCuesFile)
    file = str(path)
    groups = ("clause_breaks", "attached_before", "before", "family_history", "after")
    for name in (*groups, "not_meaning"):
        sources.check(getattr(data, name).source, file, f"{name}.source")

    def phrases(group: _CueGroup, name: str) -> tuple[Tokens, ...]:
        out = []
        for i, phrase in enumerate(group.phrases):
            tokens = _tokens(phrase)
            if not tokens:
                raise ReferenceDataError(file, f"{name}.phrases.{i}", "no words in the phrase")
            out.append(tokens)
        return tuple(out)

    return TextCues(
        window=data.window_words,
        attached=phrases(data.attached_before, "attached_before"),
        before=phrases(data.before, "before") + phrases(data.family_history, "family_history"),
        after=phrases(data.after, "after"),
        breaks=frozenset(t for p in phrases(data.clause_breaks, "clause_breaks") for t in p),
        not_meaning=phrases(data.not_meaning, "not_meaning"),
    )


def load_codeset(path: Path, sources: Sources, cues: TextCues | None = None) -> CodeSet:
    exact: dict[tuple[str, str], str] = {}
    prefixes: list[tuple[str, str]] = []
    keywords: list[str] = []
    words: list[_Word] = []
    covers: set[str] = set()
    file = str(path)
    for row in read_csv(path, CodeSetRow):
        r = row.value
        sources.check(r.source, file, "source", row=row.line)
        system = _SYSTEM_ALIASES.get(r.system, r.system)
        if r.match in ("exact", "prefix", "covers") and system == "text":
            raise ReferenceDataError(
                file, "system", f"a '{r.match}' row needs a code system", row=row.line
            )
        if r.match in ("contains", "word") and system != "text":
            raise ReferenceDataError(
                file, "system", f"a '{r.match}' row must have system 'text'", row=row.line
            )
        if r.match == "exact":
            exact[(system, _normalise(system, r.code))] = r.display
        elif r.match == "prefix":
            prefixes.append((system, _normalise(system, r.code).upper()))
        elif r.match == "covers":
            covers.add(system)
        elif r.match == "contains":
            keywords.append(r.code.lower())
        else:
            if cues is None:
                raise ReferenceDataError(
                    file, "match", f"'word' rows need {TEXT_CUES_FILE}", row=row.line
                )
            if not _word(r.code).words:
                raise ReferenceDataError(file, "code", "no words in the keyword", row=row.line)
            words.append(_word(r.code))
    return CodeSet(
        path.stem,
        MappingProxyType(exact),
        tuple(prefixes),
        tuple(keywords),
        tuple(words),
        frozenset(covers),
        cues if words else None,
    )


def load_codesets(folder: Path, sources: Sources, required: Iterable[str]) -> dict[str, CodeSet]:
    """Every ``*.csv`` under ``folder``, by file stem; a required set that is missing stops
    start-up rather than becoming a fact that can never be true."""
    cues_path = folder / TEXT_CUES_FILE
    cues = load_text_cues(cues_path, sources) if cues_path.exists() else None
    codesets = {
        path.stem: load_codeset(path, sources, cues) for path in sorted(folder.glob("*.csv"))
    }
    for name in sorted(set(required) - set(codesets)):
        raise ReferenceDataError(str(folder / f"{name}.csv"), "", "missing: a fact reads it")
    return codesets
