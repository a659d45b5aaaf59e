"""Identify the product a FHIR medication concept names: by code first, then by name.

Codes are tried in the order the client sent them (dm+d under ``https://dmd.nhs.uk`` with or
without a trailing slash, or under ``http://snomed.info/sct``; RxNorm). A concept with no
known code is identified from ``coding.display`` or ``text`` only if the name parses as a
dm+d-style product name. An unidentified medicine whose name mentions no in-scope ingredient
or brand (nor a near-misspelling of one) is out of scope; anything else unidentified is
unresolved, never 0 (ADR 0001).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from service.fhir.medication_record import NOT_SENT, MedicationConcept
from service.fhir.systems import medicine_system
from service.medicines.dictionary import MedicinesDictionary
from service.medicines.model import IngredientClass, Product
from service.medicines.vocabulary import Vocabulary

_WORD = re.compile(r"[a-z][a-z-]*")
#: General words that say a medicine is in scope without naming it.
_IN_SCOPE_EXTRA = frozenset({"opioid", "opiate"})


@dataclass(frozen=True, slots=True)
class _ScopeWords:
    #: Words that name something in scope: in-scope ingredients (and their other names),
    #: brands and co-drugs of in-scope products, and the words "opioid" and "opiate".
    words: frozenset[str]
    #: In-scope ingredient names long enough to recognise when misspelt ("oxycodon").
    spelled: tuple[str, ...]


@lru_cache(maxsize=8)
def _scope_words(v: Vocabulary) -> _ScopeWords:
    """Derived once per loaded vocabulary (the service has one)."""

    def in_scope(ingredient: str) -> bool:
        found = v.ingredient_class.get(ingredient, IngredientClass.OTHER)
        return found is not IngredientClass.OTHER

    words = frozenset(
        {name for name in v.ingredient_class if in_scope(name)}
        | {word for word, name in v.synonyms.items() if in_scope(name)}
        | {
            brand.split()[0]
            for brand, b in v.brands.items()
            if any(in_scope(i) for i in b.ingredients)
        }
        | {co for co, parts in v.co_drugs.items() if any(in_scope(i) for i in parts)}
        | _IN_SCOPE_EXTRA
    )
    spelled = tuple(
        sorted(
            word
            for word in words
            if len(word) >= 6
            and word.isalpha()
            and (word in v.ingredient_class or word in v.synonyms)
        )
    )
    return _ScopeWords(words, spelled)


@dataclass(frozen=True, slots=True)
class Identification:
    product: Product | None
    how: str  # "dm+d code 36127311000001102", "name 'Oxycodone 5mg capsules'", or why not
    label: str  # what to call it in explanations: the product name, or what the client sent
    #: Unidentified, but its name mentions no in-scope ingredient or brand: the dictionary
    #: holds every opioid, gabapentinoid, benzodiazepine and Z-drug product in the dm+d code
    #: lists, so such a medicine is taken to be out of scope (amoxicillin, metformin...).
    #: A nameless unknown code is never out of scope: it is unresolved.
    out_of_scope: bool = False


def mentions_in_scope(text: str, vocabulary: Vocabulary) -> bool:
    """Whether a medicine name mentions an opioid, gabapentinoid, benzodiazepine or Z-drug,
    or a word that looks like a misspelling of one."""
    scope = _scope_words(vocabulary)
    words = _WORD.findall(text.lower())
    return any(word in scope.words for word in words) or _misspelt(text, vocabulary) is not None


def _misspelt(text: str, vocabulary: Vocabulary) -> tuple[str, str] | None:
    """A word of ``text`` that looks like a misspelt in-scope ingredient, and that ingredient:
    one typing error (a letter added, dropped, changed, or two swapped) in a word of up to 7
    letters, two in a longer one ("codiene", "oxycodon", "diamorfine", "dihydrocodiene"). Other
    medicines are further away ("cocaine" from codeine, "hydrocortisone" from hydrocodone)."""
    scope = _scope_words(vocabulary)
    for word in _WORD.findall(text.lower()):
        if len(word) < 6 or word in scope.words:
            continue
        allowed = 1 if len(word) <= 7 else 2
        close = [
            (_typos(word, name), name)
            for name in scope.spelled
            if abs(len(name) - len(word)) <= allowed
        ]
        best = min(close, default=None)
        if best is not None and best[0] <= allowed:
            return word, best[1]
    return None


def _typos(a: str, b: str) -> int:
    """Edit distance counting a swap of two adjacent letters as one (optimal string
    alignment)."""
    rows = [list(range(len(b) + 1))]
    for i, x in enumerate(a, start=1):
        row = [i]
        for j, y in enumerate(b, start=1):
            cost = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (x != y))
            if i > 1 and j > 1 and x == b[j - 2] and a[i - 2] == y:
                cost = min(cost, rows[-2][j - 2] + 1)
            row.append(cost)
        rows.append(row)
    return rows[-1][-1]


def _unresolved_label(concept: MedicationConcept) -> str:
    """A name for a medicine whose reference could not be resolved; "not sent" only when
    the target was indeed not sent (it may be a Medication with no code)."""
    reference = concept.unresolved_reference or "no reference"
    not_sent = concept.unresolved_why == NOT_SENT
    return f"an unidentified medicine ({reference}{', not sent' if not_sent else ''})"


def identify(concept: MedicationConcept | None, dictionary: MedicinesDictionary) -> Identification:
    if concept is None:
        return Identification(None, "the prescription names no medicine", "(no medicine)")
    if concept.unresolved_reference is not None and not concept.codings and not concept.text:
        return Identification(
            None,
            f"its medicationReference {concept.unresolved_reference!r} could not be resolved "
            f"({concept.unresolved_why})",
            _unresolved_label(concept),
        )
    for coding in concept.codings:
        if coding.system and coding.code:
            product = dictionary.by_code(coding.system, coding.code)
            if product is not None:
                return Identification(
                    product, f"{_system_name(coding.system)} code {coding.code}", product.name
                )
    names = [c.display for c in concept.codings if c.display] + (
        [concept.text] if concept.text else []
    )
    for name in names:
        product = dictionary.by_name(name)
        if product is not None:
            return Identification(product, f"name {name!r}", product.name)
    label = names[0] if names else next((c.code for c in concept.codings if c.code), "(unnamed)")
    codes = ", ".join(f"{_system_name(c.system)} {c.code}" for c in concept.codings if c.code)
    why = f"code {codes} is not in the medicines dictionary" if codes else "no code"
    vocabulary = dictionary.vocabulary
    if names and not any(mentions_in_scope(n, vocabulary) for n in names):
        why += f"; the name {names[0]!r} names no opioid, gabapentinoid, benzodiazepine or Z-drug"
        return Identification(None, why, label or "(unnamed)", out_of_scope=True)
    if names:
        why += f" and the name {names[0]!r} could not be read"
        misspelt = next(
            (m for m in (_misspelt(n, vocabulary) for n in names) if m is not None), None
        )
        if misspelt is not None:
            why += f" ('{misspelt[0]}' looks like a misspelling of {misspelt[1]})"
    return Identification(None, why, label or "(unnamed)")


def _system_name(system: str | None) -> str:
    if system is None:
        return "uncoded"
    return medicine_system(system) or system
