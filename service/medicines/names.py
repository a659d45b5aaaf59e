"""Identify a medicine from its name: dm+d-style product names, RxNorm names and brands.

Used twice: by ``tools/build_medicines.py`` to turn code-list terms into table rows, and at
run time when a record carries no known code, only ``coding.display`` or ``text``.

The grammar follows dm+d VMP naming ("Morphine sulfate 10mg/5ml oral solution",
"Oxycodone 10mg / Naloxone 5mg modified-release tablets", "Co-codamol 30mg/500mg tablets",
"Fentanyl 25micrograms/hour transdermal patches") and the RxNorm clinical drug pattern
("12 HR oxycodone hydrochloride 10 MG Extended Release Oral Tablet", "Acetaminophen 325 MG /
tramadol 37.5 MG Oral Tablet [Ultracet]"). AMP names start with a brand from the
vocabulary's brands (``rules/medicines/brands.csv``: "OxyContin 20mg modified-release
tablets"). Which words are ingredients, and of which class, is data too
(``service.medicines.vocabulary``), passed in by the caller.

The parser is deliberately conservative: a name whose leading word is neither a known
ingredient nor a known brand gives ``None`` (the caller reports the medicine as unresolved),
never a guess that it is harmless.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from service.medicines.lexicon import NAME_PREFIXES, SALT_WORDS
from service.medicines.model import Ingredient, IngredientClass, Route, Strength, Use
from service.medicines.vocabulary import Brand, Vocabulary

__all__ = ["ParsedName", "normalise_name", "parse_product_name"]


@dataclass(frozen=True, slots=True)
class ParsedName:
    """What a product name says. ``brand`` is the brands.csv key ("oxycontin") or ""."""

    ingredients: tuple[Ingredient, ...]
    dose_form: str
    route: Route
    unit_of_presentation: str
    modified_release: bool
    release_hours: int | None
    use: Use
    brand: str = ""
    form_stated: bool = True  # False when the dose form came from the brand, or is unknown


def normalise_name(text: str) -> str:
    """Case- and whitespace-insensitive key for exact name matching."""
    return " ".join(text.casefold().split())


_NUM = r"(?:\d+(?:\.\d+)?|\.\d+)"
_MASS = r"mg|micrograms?|mcg|ug|nanograms?|ng|grams?|g|%"
_AMOUNT = rf"(?<![\w.])({_NUM})\s*({_MASS})(?![a-z])"
_DENOM = (
    rf"({_NUM})?\s*(ml|millilitres?|litres?|l|hours?|hr|h|doses?|actuat(?:ion)?s?|sprays?)"
    r"(?![a-z])"
)
_AMOUNT_RE = re.compile(_AMOUNT)
_NEXT_AMOUNT_RE = re.compile(rf"\s*/\s*({_NUM})\s*({_MASS})(?![a-z])")
_DENOM_RE = re.compile(rf"\s*/\s*{_DENOM}")
_UNITLESS_PAIR_RE = re.compile(rf"(?<![\w.])({_NUM})\s*/\s*({_NUM})\s*(?:mg)?(?![\w.])")

_UNIT = {
    "mg": "mg",
    "g": "g",
    "gram": "g",
    "grams": "g",
    "microgram": "microgram",
    "micrograms": "microgram",
    "mcg": "microgram",
    "ug": "microgram",
    "nanogram": "nanogram",
    "nanograms": "nanogram",
    "ng": "nanogram",
}


@dataclass(frozen=True, slots=True)
class _Chain:
    """Amounts written together ("30mg/500mg/5ml") and their shared denominator."""

    amounts: tuple[tuple[float, str], ...]
    per_value: float | None
    per_unit: str | None
    end: int


def _chains(text: str) -> list[_Chain]:
    chains: list[_Chain] = []
    pos = 0
    while (m := _AMOUNT_RE.search(text, pos)) is not None:
        amounts = [(float(m.group(1)), m.group(2))]
        end = m.end()
        while (n := _NEXT_AMOUNT_RE.match(text, end)) is not None:
            amounts.append((float(n.group(1)), n.group(2)))
            end = n.end()
        per_value: float | None = None
        per_unit: str | None = None
        if (d := _DENOM_RE.match(text, end)) is not None:
            per_value = float(d.group(1)) if d.group(1) else 1.0
            per_unit = d.group(2)
            end = d.end()
        chains.append(_Chain(tuple(amounts), per_value, per_unit, end))
        pos = end
    return chains


@dataclass(frozen=True, slots=True)
class _Form:
    pattern: re.Pattern[str]
    dose_form: str
    route: Route
    unit: str


def _form(pattern: str, dose_form: str, route: Route, unit: str) -> _Form:
    return _Form(re.compile(pattern), dose_form, route, unit)


_ORAL_LIQUID = "oral liquid"
# Most specific first: "powder for solution for injection" before "powder", "sublingual
# tablets" before "tablets". ``_ORAL_LIQUID`` means: name the form by the matched word.
_FORMS: tuple[_Form, ...] = (
    _form(
        r"transdermal (?:patch|system)|\bpatch(?:es)?\b",
        "transdermal patch",
        Route.TRANSDERMAL,
        "patch",
    ),
    _form(
        r"powder for (?:solution for )?(?:injection|infusion)",
        "powder for solution for injection",
        Route.PARENTERAL,
        "unit",
    ),
    _form(r"emulsion for injection", "emulsion for injection", Route.PARENTERAL, "ml"),
    _form(
        r"solution for (?:injection|infusion)|injectable|\binjections?\b|\binfusion\b"
        r"|\bampoules?\b",
        "solution for injection",
        Route.PARENTERAL,
        "ml",
    ),
    _form(r"nasal spray|\bnasal\b", "nasal spray", Route.NASAL, "spray"),
    _form(
        r"(?:mucosal|oromucosal|sublingual|buccal) spray", "oromucosal spray", Route.BUCCAL, "spray"
    ),
    _form(r"oromucosal solution", "oromucosal solution", Route.BUCCAL, "ml"),
    _form(r"sublingual tablets?|\bsublingual\b", "sublingual tablet", Route.BUCCAL, "tablet"),
    _form(r"buccal tablets?", "buccal tablet", Route.BUCCAL, "tablet"),
    _form(r"buccal films?|\bfilms?\b", "buccal film", Route.BUCCAL, "film"),
    _form(r"\blozenges?\b", "lozenge", Route.BUCCAL, "lozenge"),
    # Espranor: placed on the tongue, absorbed through the oral mucosa.
    _form(r"oral lyophilisates?", "oral lyophilisate", Route.BUCCAL, "tablet"),
    _form(r"suppositor(?:y|ies)", "suppository", Route.RECTAL, "suppository"),
    _form(
        r"rectal (?:solution|tube)|rectubes?|\benemas?\b|\brectal\b",
        "rectal solution",
        Route.RECTAL,
        "tube",
    ),
    _form(
        r"impregnated cigarettes?|\bcigarettes?\b",
        "impregnated cigarette",
        Route.INHALATION,
        "cigarette",
    ),
    _form(r"\bgel\b", "gel", Route.TOPICAL, "g"),
    _form(r"\bcream\b", "cream", Route.TOPICAL, "g"),
    _form(r"\bointment\b", "ointment", Route.TOPICAL, "g"),
    _form(r"\bgranules\b", "granules", Route.ORAL, "sachet"),
    _form(r"\bsachets?\b|oral powder", "oral powder", Route.ORAL, "sachet"),
    _form(r"orodispersible|\bmelts?\b", "orodispersible tablet", Route.ORAL, "tablet"),
    _form(r"effervescent tablets?", "effervescent tablet", Route.ORAL, "tablet"),
    _form(r"(?:soluble|dispersible) tablets?", "soluble tablet", Route.ORAL, "tablet"),
    _form(r"chewable tablets?", "chewable tablet", Route.ORAL, "tablet"),
    _form(r"\bcapsules?\b|\bcap\b", "capsule", Route.ORAL, "capsule"),
    _form(r"\bcaplets?\b|\btablets?\b|\btabs?\b|\bpills?\b", "tablet", Route.ORAL, "tablet"),
    _form(r"\blinctus\b", "linctus", Route.ORAL, "ml"),
    _form(r"oral suspension|\bsuspension\b", "oral suspension", Route.ORAL, "ml"),
    _form(r"oral drops|\bdrops\b", "oral drops", Route.ORAL, "ml"),
    _form(r"\bmixture\b|\belixir\b|\bsyrup\b|\btincture\b", _ORAL_LIQUID, Route.ORAL, "ml"),
    _form(r"oral solution|concentrate|\bliquid\b|\bsolution\b", "oral solution", Route.ORAL, "ml"),
    _form(r"\bpowder\b", "powder", Route.OTHER, "g"),
    _form(r"\bpack\b", "pack", Route.ORAL, "pack"),
)
_CONTAINERS = (
    (re.compile(r"\bampoules?\b"), "ampoule"),
    (re.compile(r"pre-?filled syringes?|\bsyringes?\b"), "syringe"),
    (re.compile(r"\bvials?\b"), "vial"),
    (re.compile(r"\bbags?\b"), "bag"),
    (re.compile(r"\bcartridges?\b"), "cartridge"),
)

# Modified release in dm+d words, brand suffixes (SR, XL, PR, Continus, retard) and RxNorm
# ("Extended Release", "ER", "12 HR").
_MR_RE = re.compile(
    r"(?:modified|prolonged|extended|controlled|sustained|slow)[- ]release"
    r"|\b(?:mr|m/r|sr|xl|er|pr|cr|retard|continus)\b|\b(?:12|24)\s*-?\s*(?:hr|hour)s?\b"
    r"|once[- ]daily"
)
# "XL" brands (Zydol XL, Onexila XL, Tradorec XL) and "24hr" ones are once daily.
_H24_RE = re.compile(r"\b24\s*-?\s*(?:hr|hour)s?\b|once[- ]daily|\bxl\b")
_H12_RE = re.compile(r"\b12\s*-?\s*(?:hr|hour)s?\b|twice[- ]daily")
_LEADING_RE = re.compile(r"^(?:(?:\d+\s*hr|abuse-deterrent|\d+(?:\.\d+)?\s*ml)\s+)+")
_CONNECTORS = frozenset({"and", "+", "&", "with"})
# "Gabapentin 600mg tablets and Gabapentin 300mg capsules": two presentations in one pack.
_PACK_RE = re.compile(r"\b(?:tablets?|capsules?|patch(?:es)?)\s+and\s+\w")


def _lookup(words: list[str], at: int, v: Vocabulary) -> tuple[str, int] | None:
    """The canonical ingredient starting at ``words[at]`` and how many words it spans."""
    for span in (3, 2, 1):
        phrase = " ".join(words[at : at + span])
        if len(words) - at < span:
            continue
        canonical = v.synonyms.get(phrase, phrase)
        if canonical in v.ingredient_class:
            return canonical, span
    return None


def _leading_ingredients(text: str, v: Vocabulary) -> tuple[list[str], str] | None:
    """Ingredient names at the start of ``text`` ("kaolin and morphine …") and the rest."""
    words = text.split()
    names: list[str] = []
    at = 0
    while at < len(words):
        found = _lookup(words, at, v)
        if found is None:
            break
        names.append(found[0])
        at += found[1]
        while at < len(words) and words[at] in SALT_WORDS:
            at += 1
        if at + 1 < len(words) and words[at] in _CONNECTORS and _lookup(words, at + 1, v):
            at += 1
            continue
        break
    if not names:
        return None
    return names, " ".join(words[at:])


def _brand_at_start(text: str, v: Vocabulary) -> tuple[str, Brand, str] | None:
    best = ""
    for key in v.brands:
        if (text == key or text.startswith(key + " ")) and len(key) > len(best):
            best = key
    if not best:
        return None
    return best, v.brands[best], text[len(best) :].strip()


def _clean(name: str, v: Vocabulary) -> tuple[str, str]:
    """Lower-case text without parentheses, and any RxNorm "[Brand]" removed from it."""
    # Both micro signs (U+00B5, U+03BC) become "mc": "25µg/hour" reads as "25mcg/hour".
    text = name.casefold().replace("\u03bc", "mc").replace("\u00b5", "mc")
    bracket = ""
    if (m := re.search(r"\[([^\]]+)\]", text)) is not None:
        bracket = m.group(1).strip()
        text = text[: m.start()] + text[m.end() :]
    text = re.sub(r"\([^)]*\)", " ", text)
    # "Acetaminophen/Hydrocodone" (an RxNorm multiple-ingredient name) → "a + b"; a slash
    # between amounts ("10mg/5ml") is left alone because "ml" is not an ingredient.
    words = [
        " + ".join(word.split("/"))
        if "/" in word and all(_is_ingredient(w, v) for w in word.split("/"))
        else word
        for word in text.replace(",", " ").split()
    ]
    return " ".join(words), bracket


def _is_ingredient(word: str, v: Vocabulary) -> bool:
    return v.synonyms.get(word, word) in v.ingredient_class


def _strength(
    value: float, unit: str, chain: _Chain, form: _Form | None, route: Route
) -> Strength | None:
    if unit == "%":
        # dm+d writes gels and some sprays as a percentage: 1% = 10 mg per g (w/w) or per
        # ml (w/v). Only semisolids and liquids have a meaningful basis.
        if form is not None and form.unit == "g":
            return Strength(value * 10, "mg", 1.0, "g")
        if form is not None and form.unit in {"ml", "spray"}:
            return Strength(value * 10, "mg", 1.0, "ml")
        return None
    canonical_unit = _UNIT[unit]
    per_unit = chain.per_unit
    if per_unit is None:
        # "Durogesic 25micrograms transdermal patches": a patch strength is a rate.
        if route is Route.TRANSDERMAL:
            return Strength(value, canonical_unit, 1.0, "hour")
        return Strength(value, canonical_unit)
    per_value = chain.per_value or 1.0
    if per_unit.startswith(("l", "litre")):
        return Strength(value, canonical_unit, per_value * 1000, "ml")
    if per_unit.startswith(("ml", "millilitre")):
        return Strength(value, canonical_unit, per_value, "ml")
    if per_unit.startswith("h"):
        return Strength(value, canonical_unit, per_value, "hour")
    return Strength(value, canonical_unit, per_value, "dose")


def _find_form(text: str) -> tuple[_Form | None, str]:
    for form in _FORMS:
        if (m := form.pattern.search(text)) is not None:
            dose_form = form.dose_form
            if dose_form == _ORAL_LIQUID:
                dose_form = m.group(0)
            return form, dose_form
    return None, ""


def _unit_of_presentation(form: _Form | None, text: str) -> str:
    if form is None:
        return ""
    if form.route is Route.PARENTERAL or "unit dose" in text:
        for pattern, container in _CONTAINERS:
            if pattern.search(text):
                return container
    return form.unit


def _infer_use(
    names: list[str],
    dose_form: str,
    route: Route,
    brand: Brand | None,
    strengths_mg: float,
    liquid: bool,
    v: Vocabulary,
) -> Use:
    """Why the product exists (model.Use): a topical route, else the brand's use, else the
    first matching row of rules/medicines/uses_by_name.csv (linctuses, kaolin mixtures,
    methadone oral solution, buprenorphine for dependence...), else analgesia. The build
    script may override it from the BNF code."""
    if route is Route.TOPICAL:
        return Use.TOPICAL
    if brand is not None and brand.use is not None:
        return brand.use
    return v.use_by_name(names, dose_form, route, strengths_mg, liquid) or Use.ANALGESIA


def _release(text: str, brand: Brand | None, mr: bool, has_opioid: bool) -> int | None:
    if not mr:
        return None
    if _H24_RE.search(text):
        return 24
    if _H12_RE.search(text):
        return 12
    if brand is not None and brand.release_hours is not None:
        return brand.release_hours
    # Most modified-release opioids are taken twice daily (ome-reference.md §6).
    return 12 if has_opioid else None


_DENOMINATOR_START_RE = re.compile(rf"^(?:{_NUM}|{_DENOM})")


def _segments(text: str) -> list[str]:
    """Split "a 10mg / b 5mg tablets" into components, keeping "25 micrograms / hour"."""
    merged: list[str] = []
    for part in re.split(r"\s+/\s+", text):
        if merged and _DENOMINATOR_START_RE.match(part):
            merged[-1] = f"{merged[-1]}/{part}"
        else:
            merged.append(part)
    return merged


@dataclass(frozen=True, slots=True)
class _Part:
    """One ingredient of a name and, when the name gives it, its amount and chain."""

    name: str
    chain: _Chain | None = None
    value: float = 0.0
    unit: str = ""


def _components(text: str, v: Vocabulary) -> list[_Part] | None:
    parts: list[_Part] = []
    for segment in _segments(text):
        found = _leading_ingredients(segment, v)
        if found is None:
            return None
        names, rest = found
        parts += _pair(names, _chains(rest))
    return parts


def _pair(names: list[str] | tuple[str, ...], chains: list[_Chain]) -> list[_Part]:
    """Give the amounts of the one strength chain to the names, in order.

    Anything else ("Gabapentin 600mg tablets and Gabapentin 300mg capsules", a pack; a
    brand written without strengths) keeps the ingredients and drops the strengths.
    """
    if len(chains) != 1 or len(chains[0].amounts) != len(names):
        return [_Part(name) for name in names]
    chain = chains[0]
    return [
        _Part(name, chain, value, unit)
        for name, (value, unit) in zip(names, chain.amounts, strict=True)
    ]


def _brand_parts(ingredients: tuple[str, ...], rest: str) -> list[_Part]:
    chains = _chains(rest)
    paired = len(chains) == 1 and len(chains[0].amounts) == len(ingredients)
    if not paired and len(ingredients) == 2 and (m := _UNITLESS_PAIR_RE.search(rest)):
        # free text such as "co-codamol 30/500" or "30/500mg": the co-drug convention
        # writes both strengths in mg.
        chains = _chains(f"{m.group(1)}mg/{m.group(2)}mg")
    return _pair(ingredients, chains)


def parse_product_name(name: str, vocabulary: Vocabulary) -> ParsedName | None:
    """Parse a product name; ``None`` when it names no ingredient or brand ``vocabulary``
    knows.

    >>> p = parse_product_name("Co-codamol 30mg/500mg tablets", vocabulary)
    >>> [(i.name, i.strength.value if i.strength else None) for i in p.ingredients]
    [('codeine', 30.0), ('paracetamol', 500.0)]
    """
    v = vocabulary
    full_text, bracket_brand = _clean(name, v)
    text = _LEADING_RE.sub("", full_text)
    words = text.split()
    if len(words) > 1 and words[0] in NAME_PREFIXES:
        text = " ".join(words[1:])
    if not text:
        return None

    brand: Brand | None = None
    brand_key = ""
    if (hit := _brand_at_start(text, v)) is not None:
        brand_key, brand, rest = hit
        parts = _brand_parts(brand.ingredients, rest)
    elif (co := text.split()[0]) in v.co_drugs:
        # A co-drug's strengths are written in the order of its ingredients ("Co-codamol
        # 30mg/500mg" is codeine 30 mg; rules/medicines/co_drugs.csv).
        parts = _brand_parts(v.co_drugs[co], text[len(co) :])
    else:
        found = _components(text, v)
        if found is None:
            return None
        parts = found
        if bracket_brand in v.brands:
            brand_key, brand = bracket_brand, v.brands[bracket_brand]

    form_text = text[len(brand_key) :] if brand_key and text.startswith(brand_key) else text
    form, dose_form = _find_form("pack" if _PACK_RE.search(form_text) else form_text)
    form_stated = form is not None
    if form is None and brand is not None and brand.default_form:
        form, dose_form = _find_form(brand.default_form)
    route = form.route if form is not None else Route.OTHER

    ingredients = tuple(
        Ingredient(
            part.name,
            v.ingredient_class[part.name],
            _strength(part.value, part.unit, part.chain, form, route) if part.chain else None,
        )
        for part in parts
    )
    names = [i.name for i in ingredients]
    has_opioid = any(i.ingredient_class is IngredientClass.OPIOID for i in ingredients)
    mr = route is not Route.TRANSDERMAL and (
        bool(_MR_RE.search(full_text)) or (brand is not None and brand.modified_release)
    )
    unit_mg = max(
        (i.strength.mg_per for i in ingredients if i.strength and i.strength.per_unit == "unit"),
        default=0.0,
    )
    return ParsedName(
        ingredients=ingredients,
        dose_form=dose_form,
        route=route,
        unit_of_presentation=_unit_of_presentation(form, form_text),
        modified_release=mr,
        release_hours=_release(full_text, brand, mr, has_opioid),
        use=_infer_use(
            names, dose_form, route, brand, unit_mg, form is not None and form.unit == "ml", v
        ),
        brand=brand_key,
        form_stated=form_stated,
    )
