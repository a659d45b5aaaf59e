"""The words and phrases of UK dose instructions, and the tokenizer that finds them.

Used by ``service.dosing.sig_text``. This is the language of prescriptions, not clinical
thresholds: number words, units, dose-form nouns, frequency and time-of-day phrases, and the
words that may be passed over without changing the dose. The lists are deliberately closed:
a word not listed becomes a ``Decline`` token and the whole instruction is declined.

``tokenize(normalise(text))`` turns text into phrase tokens: ``Qty`` (an amount), ``Freq``
(how often), ``Slot`` (a time of day), ``Noun`` (a form noun with no number), ``Mark`` (a
keyword such as "when required" or "max") and ``Decline`` (something not read, with why).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

# Number words, rewritten as digits before reading. Longer forms first so that
# "twenty-four" is not read as "twenty" and "four"; anything larger stays a word and is
# therefore not understood (the parser declines rather than ignore a number).
NUMBER_WORDS: tuple[tuple[str, str], ...] = (
    (r"twenty[\s-]*four", "24"),
    (r"forty[\s-]*eight", "48"),
    (r"seventy[\s-]*two", "72"),
    ("one", "1"),
    ("two", "2"),
    ("three", "3"),
    ("four", "4"),
    ("five", "5"),
    ("six", "6"),
    ("seven", "7"),
    ("eight", "8"),
    ("nine", "9"),
    ("ten", "10"),
    ("eleven", "11"),
    ("twelve", "12"),
)

# Roman numerals for counts, as UK sigs write them ("ii qds", "i bd", "ii-iii prn"), and
# "ss" (semis, a half; "iss" one and a half). Read only where a count is expected: at the
# start of the instruction or after a verb or joining word (ROMAN_AFTER), and followed by a
# form noun or a frequency or time word (ROMAN_BEFORE). So "if I need it", "10mg iv qds"
# (intravenous) and "vi" or "x" inside a word are left alone.
ROMAN_NUMERALS: dict[str, str] = {
    "i": "1", "ii": "2", "iii": "3", "iv": "4", "v": "5", "vi": "6", "vii": "7", "viii": "8",
    "ix": "9", "x": "10", "xi": "11", "xii": "12", "ss": "0.5", "iss": "1.5",
}  # fmt: skip
ROMAN_AFTER: frozenset[str] = frozenset(
    {"", ",", "take", "give", "apply", "use", "insert", "then", "max", "maximum", "of"}
)
ROMAN_BEFORE = (
    r"od|qd|bds|bd|bid|tds|tid|qds|qid|prn|stat|nocte|mane|om|daily|hourly|q\s*\d+\s*h"
    r"|every|each|at|in\s+the|on|once|twice|\d+\s*times|when|as\s+(?:required|needed)"
    r"|in\s+(?:24|a|any|one)"
)

# Measured units: spelling -> (canonical unit, factor to the canonical unit).
# Grams become milligrams so that every mass is reported in "mg" or "microgram".
MEASURED_UNITS: dict[str, tuple[str, float]] = {
    "mg": ("mg", 1.0),
    "mgs": ("mg", 1.0),
    "milligram": ("mg", 1.0),
    "milligrams": ("mg", 1.0),
    "g": ("mg", 1000.0),
    "gm": ("mg", 1000.0),
    "gms": ("mg", 1000.0),
    "gram": ("mg", 1000.0),
    "grams": ("mg", 1000.0),
    "microgram": ("microgram", 1.0),
    "micrograms": ("microgram", 1.0),
    "mcg": ("microgram", 1.0),
    "ug": ("microgram", 1.0),
    "ml": ("ml", 1.0),
    "mls": ("ml", 1.0),
    "millilitre": ("ml", 1.0),
    "millilitres": ("ml", 1.0),
    "milliliter": ("ml", 1.0),
    "milliliters": ("ml", 1.0),
}

# Units that are recognised so that the reason can say why they are not read.
UNSUPPORTED_UNITS: dict[str, str] = {
    "units": "international units are not read",
    "unit": "international units are not read",
    "iu": "international units are not read",
    "litre": "litres are not read",
    "litres": "litres are not read",
    "nanograms": "nanograms are not read",
    "nanogram": "nanograms are not read",
    "mmol": "millimoles are not read",
}

# Dose-form nouns: spelling -> the singular word reported as ``unit_word``.
# "dose" is listed so that "max 4 doses" can be read; a dose of "2 doses" is declined.
FORM_NOUNS: dict[str, str] = {
    "tablet": "tablet",
    "tablets": "tablet",
    "tab": "tablet",
    "tabs": "tablet",
    "capsule": "capsule",
    "capsules": "capsule",
    "cap": "capsule",
    "caps": "capsule",
    "patch": "patch",
    "patches": "patch",
    "sachet": "sachet",
    "sachets": "sachet",
    "suppository": "suppository",
    "suppositories": "suppository",
    "supp": "suppository",
    "supps": "suppository",
    "lozenge": "lozenge",
    "lozenges": "lozenge",
    "spray": "spray",
    "sprays": "spray",
    "puff": "puff",
    "puffs": "puff",
    "drop": "drop",
    "drops": "drop",
    "ampoule": "ampoule",
    "ampoules": "ampoule",
    "amp": "ampoule",
    "amps": "ampoule",
    "film": "film",
    "films": "film",
    "dose": "dose",
    "doses": "dose",
}

# Plural spellings, so that a bare plural noun ("swallow tablets whole") is not read as 1.
PLURAL_NOUNS: frozenset[str] = frozenset(
    word for word, singular in FORM_NOUNS.items() if word != singular and word.endswith("s")
)

# Describing words allowed between a number and its form noun ("2 dispersible tablets").
FORM_ADJECTIVES: tuple[str, ...] = (
    r"modified[\s-]*release",
    r"prolonged[\s-]*release",
    r"slow[\s-]*release",
    r"film[\s-]*coated",
    r"gastro[\s-]*resistant",
    "m/r",
    "mr",
    "sr",
    "dispersible",
    "orodispersible",
    "soluble",
    "effervescent",
    "chewable",
    "buccal",
    "sublingual",
    "transdermal",
    "oral",
    "eye",
    "ear",
    "nasal",
    "metered",
    "white",
    "yellow",
    "pink",
    "blue",
    "green",
    "red",
    "orange",
    "brown",
    "purple",
)

# Phrases that may be passed over; matched before single words (regular expressions).
FILLER_PHRASES: tuple[str, ...] = (
    r"do\s+not\s+(?:crush|chew|break|cut|open|split)(?:\s+or\s+(?:crush|chew|break|cut|open))?",
    r"(?:do\s+not|don't)\s+(?:drive|drink\s+alcohol)",
    r"swallow(?:ed)?\s+whole",
    r"with\s+or\s+after\s+food",
    r"on\s+an?\s+empty\s+stomach",
    r"(?:at|with)\s+(?:meal\s*times|meals|food)",
    r"may\s+cause\s+drowsiness",
    r"avoid\s+alcohol",
)

# Single words that never change the amount: verbs of administration, routes, sites,
# reasons for use and ordinary grammar. "not", "each", "both", "extra" and the like are
# deliberately absent: they can change the dose.
FILLER_WORDS: frozenset[str] = frozenset(
    """
    take taking taken to be is are the a an of with or by for please patient you your
    this these that it medicine medication usual
    mouth orally oral po use used using give given inject injected injection
    administer administered insert inserted inhale inhaled instil instilled place placed put
    swallow swallowed dissolve dissolved disperse dispersed suck sucked chew chewed
    in into onto on under tongue sublingually buccally between gum cheek lip
    skin chest arm upper back shoulder body area affected clean dry hairless non-hairy site
    sites rotate remove removed old new replace
    after before ac pc food meal meals water milk glass full plenty fluids well diluted dilute
    rectally rectal rectum pr sc s/c subcut subcutaneous subcutaneously im intramuscular
    intramuscularly iv intravenous intravenously inhaler spacer device metered nebuliser
    nebulised via route
    pain relief severe moderate mild breakthrough nausea vomiting sickness cough diarrhoea
    constipation sleep insomnia anxiety agitation breathlessness migraine headache
    dose left right eye ear nose nostril
    white yellow pink blue green red orange brown purple
    modified release soluble dispersible effervescent liquid solution suspension
    """.split()
)


# ---------------------------------------------------------------------------------- tokens
@dataclass(frozen=True, slots=True)
class Qty:  # an amount: "1-2 tablets", "10mg", "2.5ml-5ml"
    low: float
    high: float
    unit: str  # mg | microgram | ml | unit | dose
    word: str | None
    upto: bool = False


@dataclass(frozen=True, slots=True)
class Freq:  # how often: "twice a day", "every 4-6 hours", "weekly"
    per_day: float
    interval: float | None
    per24: bool  # names one 24-hour period ("daily", "in 24 hours"): usable after "max"
    text: str


@dataclass(frozen=True, slots=True)
class Slot:  # a time of day: morning, midday, evening, night, or a clock time
    name: str


@dataclass(frozen=True, slots=True)
class Noun:  # a form noun with no number: "change patch twice a week"
    word: str
    plural: bool


@dataclass(frozen=True, slots=True)
class Decline:
    reason: str


@dataclass(frozen=True, slots=True)
class Mark:  # prn max max_daily upto apply cont over24 oneoff adjust initially then directed and
    kind: str
    text: str = ""


Token = Qty | Freq | Slot | Noun | Decline | Mark
SKIP = Mark("skip")
_Build = Callable[[re.Match[str], Token | None], Token | None]

_N = r"\d{1,6}(?:\.\d{1,4})?"  # a number; longer ones are not understood
_RANGE = r"(?:\s*(?:-|to|or)\s*)"
_HOURS = r"(?:hours?|hrs?|h)"
_DAY24 = rf"(?:24\s*-?\s*{_HOURS}(?:\s+period)?)"
_UNIT = "|".join(sorted([*MEASURED_UNITS, *UNSUPPORTED_UNITS], key=len, reverse=True))
_ADJ = "|".join(FORM_ADJECTIVES)
_NOUN = "|".join(sorted(FORM_NOUNS, key=len, reverse=True))
_SPOON = r"5\s*ml\s+spoon(?:ful)?s?"
SLOT_TEXT = {"morning": "in the morning", "midday": "at midday", "evening": "in the evening"}
SLOT_TEXT |= {"night": "at night"}
_LATIN = {"od": 1, "qd": 1, "bd": 2, "bid": 2, "bds": 2, "tds": 3, "tid": 3, "qds": 4, "qid": 4}
_TIMES = {1: "once", 2: "twice"}
# A transdermal patch's strength ("25 micrograms") is a rate per hour, not an amount per patch.
PATCH_RATE = "a patch strength is a rate per hour, not an amount per patch"
IMPLIED_ONE = {"patch", "tablet", "capsule", "sachet", "suppository", "lozenge", "ampoule"}


def fmt(value: float) -> str:
    """A number for an explanation: 2 -> "2", 0.333333 -> "0.333"."""
    return f"{round(value, 3):g}"


def _num(text: str | None) -> float | None:
    return None if text is None else float(text)


def _freq(per_day: float, interval: float | None, text: str, per24: bool = False) -> Token:
    if not math.isfinite(per_day) or per_day <= 0:
        return Decline(f"a frequency of zero: '{text}'")
    return Freq(float(per_day), None if interval is None else float(interval), per24, text)


def _every(m: re.Match[str], hours_per_unit: float, unit: str) -> Token:
    """ "every 4-6 hours", "4 hourly", "every 3 days": the shortest interval sets the rate."""
    low, high = float(m["a"]), _num(m["b"])
    if high is not None and high < low:
        return Decline(f"a reversed range: '{m.group(0)}'")
    if low <= 0:
        return Decline(f"an interval of zero: '{m.group(0)}'")
    span = fmt(low) + (f"-{fmt(high)}" if high is not None else "")
    return _freq(24 / (low * hours_per_unit), low * hours_per_unit, f"every {span} {unit}")


def _times(m: re.Match[str], _prev: Token | None) -> Token:
    """ "3 times a day", "twice weekly", "2-3 times daily", "once a fortnight"."""
    word = m["w"]
    low = {"once": 1.0, "twice": 2.0, "thrice": 3.0}[word] if word else float(m["n"])
    high = float(m["n2"]) if m["n2"] else low
    if high < low:
        return Decline(f"a reversed range: '{m.group(0)}'")
    days = 14.0 if m["p"].startswith("fortnight") else 7.0 if m["p"].startswith("w") else 1.0
    count = _TIMES.get(int(low), f"{fmt(low)} times") if high == low and low.is_integer() else ""
    count = count or f"{fmt(low)}-{fmt(high)} times"
    period = {1.0: "day", 7.0: "week", 14.0: "fortnight"}[days]
    interval = 24 * days / high if days > 1 or high == 1 else None
    return _freq(high / days, interval, f"{count} a {period}")


def _qty(m: re.Match[str], _prev: Token | None) -> Token:
    """ "1-2 tablets", "2.5ml-5ml", "2 x 5mg", "1 5ml spoonful", "one 10mg tablet"."""
    units = [u for u in (m["ua"], m["ub"]) if u]
    if any(u in UNSUPPORTED_UNITS for u in units):
        return Decline(UNSUPPORTED_UNITS[next(u for u in units if u in UNSUPPORTED_UNITS)])
    measured = {MEASURED_UNITS[u] for u in units}
    if len(measured) > 1:
        return Decline(f"a range in two units: '{m.group(0)}'")
    low, high = float(m["a"]), float(m["b"] or m["a"])
    if high < low:
        return Decline(f"a reversed range: '{m.group(0)}'")
    mult = float(m["mult"]) if m["mult"] else 1.0
    if measured:
        unit, factor = measured.pop()
        if m["noun"] and FORM_NOUNS[m["noun"]] == "patch":
            return Decline(PATCH_RATE)
        if m["spoon"]:
            return Decline(f"two units in one dose: '{m.group(0)}'")
        return Qty(low * factor * mult, high * factor * mult, unit, None)
    if m["mult"]:
        return Decline(f"a multiplied dose with no unit: '{m.group(0)}'")
    if m["spoon"]:
        return Qty(low * 5, high * 5, "ml", None)
    noun = FORM_NOUNS[m["noun"]] if m["noun"] else None
    return Qty(low, high, "dose" if noun == "dose" else "unit", noun)


def _strength(m: re.Match[str], _prev: Token | None) -> Token:
    """ "one 10mg tablet", "2 5mg capsules": the count times the strength."""
    if m["u"] in UNSUPPORTED_UNITS:
        return Decline(UNSUPPORTED_UNITS[m["u"]])
    if FORM_NOUNS[m["noun"]] == "patch":
        return Decline(PATCH_RATE)
    unit, factor = MEASURED_UNITS[m["u"]]
    amount = float(m["a"]) * float(m["s"]) * factor
    return Qty(amount, amount, unit, None)


def _clock(m: re.Match[str], _prev: Token | None) -> Token:
    hour, minute = int(m["h"]), int(m["m"] or 0)
    if m["ap"]:
        if not 1 <= hour <= 12:
            return Decline(f"an impossible time: '{m.group(0)}'")
        hour = hour % 12 + (12 if m["ap"] == "pm" else 0)
    if hour > 23 or minute > 59:
        return Decline(f"an impossible time: '{m.group(0)}'")
    return Slot(f"{hour:02d}:{minute:02d}")


def _word(m: re.Match[str], _prev: Token | None) -> Token:
    if m.group(0) in FILLER_WORDS:
        return SKIP
    return Decline(f"unrecognised wording: '{m.group(0)[:40]}'")


def _after_dose(_m: re.Match[str], prev: Token | None) -> Token | None:
    """ "on" means "at night" only straight after a dose: "1 on" (not "on the skin")."""
    return Slot("night") if isinstance(prev, Qty | Noun) else None


def _bare_noun(m: re.Match[str], _prev: Token | None) -> Token | None:
    if m["noun"].startswith("dose"):  # "dose to be taken with breakfast": a plain word
        return None
    return Noun(FORM_NOUNS[m["noun"]], m["noun"] in PLURAL_NOUNS)


def _mark(kind: str) -> _Build:
    return lambda m, _prev: Mark(kind, m.group(0))


def _decline(reason: str) -> _Build:
    return lambda m, _prev: Decline(reason.format(m.group(0)))


def _const(token: Token) -> _Build:
    return lambda _m, _prev: token


def _rate(per_day: float, interval: float, text: str, per24: bool = False) -> _Build:
    return lambda _m, _prev: _freq(per_day, interval, text, per24)


def _interval(hours_per_unit: float, unit: str) -> _Build:
    return lambda m, _prev: _every(m, hours_per_unit, unit)


_LATIN_RATE: _Build = lambda m, _prev: _freq(_LATIN[m.group(0)], None, m.group(0))  # noqa: E731
_EVERY_N = rf"(?:once\s+)?(?:every|each)\s+(?P<a>{_N})(?:{_RANGE}(?P<b>{_N}))?\s*"
_FOOD = (
    r"(?:food|meals?|eating|breakfast|lunch|dinner|supper|bed(?:time)?|(?:the\s+)?evening\s+meal)"
)
_SLOT_LEAD = r"(?:(?:in|during)\s+the\s+|each\s+|every\s+|at\s+|this\s+)?"

# Ordered: at each position the first rule that matches wins. Every pattern must end at a
# word boundary (added when compiling), so "od" never matches the start of "odd".
# fmt: off
_RULES_SOURCE: list[tuple[str, _Build]] = [
    # -- wording that hands the dose to something else; "adjusted" is read only with a range
    (r"(?:dose\s+)?(?:adjusted|titrated)\s+(?:according\s+)?to\s+(?:response|symptoms|pain)",
     _mark("adjust")),
    (r"""(?:as|when)\s+(?:directed|instructed|advised|prescribed|before)
       | (?:follow(?:ing)?|see|read)\s+(?:the\s+)?(?:directions|instructions|leaflet|label)
       | according\s+to\s+[a-z]+(?:\s+[a-z]+)? | as\s+per(?:\s+[a-z]+)?""", _mark("directed")),
    (r"(?:and\s+)?then|followed\s+by|after\s+that|thereafter", _mark("then")),
    (r"initially|to\s+start(?:\s+with)?|at\s+first|starting\s+with", _mark("initially")),
    (r"""(?:when|as|if|whenever)\s+(?:required|needed|necessary|req)
       | as\s+and\s+when(?:\s+(?:required|needed|necessary))? | prn""", _mark("prn")),
    # -- maximums: "max 8 in 24 hours", "maximum daily dose 4g", "do not exceed qds"
    (rf"""(?:max(?:imum)?|total)\s+(?:daily|{_DAY24})\s+dose(?:\s+(?:of|is))?
       | (?:total\s+)?daily\s+dose\s+(?:should|must)\s+not\s+(?:exceed|be\s+more\s+than)
       | max(?:imum)?\s+daily(?:\s+of)?""", _mark("max_daily")),
    (r"""(?:up\s+to\s+)?(?:a\s+)?max(?:imum)?(?:\s+of)?(?:\s+(?:total\s+)?dose(?:\s+of)?)?
       | (?:do\s+not|not\s+to|should\s+not|must\s+not|never)\s+(?:exceed
         | (?:take|use|give|have)\s+more\s+than
         | be\s+(?:taken|used|given)\s+more\s+(?:often\s+)?than)
       | (?:not|no)\s+more\s+(?:often\s+)?than""", _mark("max")),
    (r"up\s+to", _mark("upto")),
    (r"(?:re-?)?appl(?:y|ied)|change[ds]?", _mark("apply")),  # patches, creams
    # -- continuous infusion
    (r"""(?:(?:via|by|in|using)\s+(?:a\s+)?)?(?:syringe\s+(?:driver|pump)|csci)
       | (?:(?:via|by)\s+(?:a\s+)?)?(?:continuous\s+)?(?:subcutaneous|sc|s/c)\s+infusion
       | (?:(?:via|by)\s+(?:a\s+)?)?continuous\s+infusion""", _mark("cont")),
    (rf"over\s+(?:{_DAY24}|1\s+day|a\s+day)", _mark("over24")),
    # -- timing around food, durations: they do not change the daily amount
    (rf"(?:{_N}|an?)\s*(?:{_HOURS}|minutes?|mins?)\s+(?:before|after|prior\s+to)\s+{_FOOD}",
     _const(SKIP)),
    (rf"""(?:for|x)\s*(?:a\s+further\s+|another\s+|the\s+next\s+|up\s+to\s+)?(?:(?:{_N}|an?)\s*)?
         (?:days?|weeks?|wks?|months?|nights?|doses?) | (?:for|x)\s*\d{{1,3}}\s*/\s*(?:7|52|12)""",
     _const(SKIP)),
    # -- recognised, but not read: say why
    (r"""(?:in|into|to|for)\s+(?:each|both)\s+(?:nostrils?|eyes?|ears?|sides?|cheeks?)
       | (?:each|both)\s+(?:nostrils?|eyes?|ears?)""",
     _decline("a dose per site ('{}') is not read")),
    (r"(?:increas|reduc|decreas|titrat|taper|wean)[a-z]*",
     _decline("dose changes ('{}') are not read")),
    (r"(?:on\s+)?(?:(?:mon|tues|wednes|thurs|fri|satur|sun)days?|mon|tues?|wed|thu|thurs?|fri)",
     _decline("day-of-week schedules ('{}') are not read")),
    (rf"(?:once\s+)?(?:every|each|a|per)\s+(?:{_N}\s*|other\s+|second\s+)?months?|monthly",
     _decline("monthly intervals ('{}') vary in length and are not read")),
    (rf"{_EVERY_N}(?:minutes?|mins?)", _decline("repeat intervals in minutes ('{}') are not read")),
    (rf"over\s+(?:{_N}(?:{_RANGE}{_N})?\s*(?:{_HOURS}|minutes?|mins?|days?)|(?:an?\s+)?(?:hour|minute))",
     _decline("an infusion time other than 24 hours ('{}') is not read")),
    (r"/\s*(?:hours?|hrs?|h|minutes?|mins?|kg)|per\s+(?:hour|minute|kg|kilogram)|an\s+hour",
     _decline("a rate or weight-based dose ('{}') is not read")),
    (r"stat|once\s+only|(?:as\s+)?(?:a\s+)?single\s+dose|(?:take\s+)?once(?=\s*(?:,|$))",
     _mark("oneoff")),
    # -- frequencies
    (rf"""(?:(?P<n>\d{{1,2}})(?:{_RANGE}(?P<n2>\d{{1,2}}))?\s*(?:times?|x)|(?P<w>once|twice|thrice))
         \s*(?:a|per|each|every|in\s+(?:a|any|one)|/)?\s*
         (?P<p>day|daily|{_DAY24}|week|weekly|wk|fortnight|fortnightly)""", _times),
    (rf"""daily|(?:every|each|a|per|in\s+(?:a|one))\s+day|/\s*day | 24\s*-?\s*hourly
       | (?:every|per|in|within)\s+(?:any\s+)?{_DAY24} | /\s*{_DAY24} | (?:in|per|/)\s*24""",
     _rate(1, 24, "daily", per24=True)),
    (r"od|qd|bds|bd|bid|tds|tid|qds|qid", _LATIN_RATE),
    (rf"{_EVERY_N}{_HOURS}", _interval(1, "hours")),
    (rf"(?P<a>{_N})(?:\s*(?:-|to)\s*(?P<b>{_N}))?\s*-?\s*(?:hourly|hrly)", _interval(1, "hours")),
    (rf"q\s*(?P<a>{_N})(?:\s*-\s*(?P<b>{_N}))?\s*h", _interval(1, "hours")),
    (r"(?:once\s+)?every\s+hour|hourly", _rate(24, 1, "every hour")),
    (rf"{_EVERY_N}days?", _interval(24, "days")),
    (rf"{_EVERY_N}weeks?", _interval(168, "weeks")),
    (r"(?:once\s+)?every\s+(?:other|second)\s+day|(?:on\s+)?alternate\s+days",
     _rate(0.5, 48, "every other day")),
    (r"(?:once\s+)?(?:weekly|(?:every|each)\s+week)", _rate(1 / 7, 168, "weekly")),
    (r"fortnightly|every\s+(?:other|second)\s+week|every\s+fortnight",
     _rate(1 / 14, 336, "fortnightly")),
    # -- times of day
    (r"(?:at\s+)?(?P<h>\d{1,2})(?:[:.](?P<m>\d{2}))?\s*(?P<ap>am|pm)", _clock),
    (r"(?:at\s+)?(?P<h>\d{1,2}):(?P<m>\d{2})(?P<ap>)", _clock),
    (rf"{_SLOT_LEAD}morning|mane|om|(?:(?:with|at|after|before)\s+)?breakfast(?:\s*time)?",
     _const(Slot("morning"))),
    (r"(?:at\s+)?(?:midday|mid-day|noon|lunch\s*time)|(?:(?:with|at|after|before)\s+)?lunch|midi",
     _const(Slot("midday"))),
    (rf"""{_SLOT_LEAD}evening(?:\s+meal)?
       | (?:(?:with|at|after|before)\s+(?:the\s+)?)?(?:evening\s+meal|dinner|supper|tea\s*time)""",
     _const(Slot("evening"))),
    (r"""(?:(?:at|each|every|during\s+the)\s+)?night(?:\s*time)?|nightly|nocte|on\s+retiring
       | (?:at\s+|before\s+|before\s+going\s+to\s+)?bed(?:\s*time)?""", _const(Slot("night"))),
    (r"on(?=\s*(?:,|$|prn\b|when\b|if\b|as\b|and\b))", _after_dose),
    # -- amounts
    (rf"(?P<a>{_N})\s+(?P<s>{_N})\s*(?P<u>{_UNIT})\s+(?:(?:{_ADJ})\s+)*(?P<noun>{_NOUN})",
     _strength),
    (rf"""(?:(?P<mult>\d{{1,2}})\s*x\s*)?
         (?P<a>{_N})\s*(?P<ua>{_UNIT})?(?:{_RANGE}(?P<b>{_N})\s*(?P<ub>{_UNIT})?)?
         (?:\s*(?:(?P<spoon>{_SPOON})|(?:(?:{_ADJ})\s+)*(?P<noun>{_NOUN})))?""", _qty),
    (rf"(?:(?:{_ADJ})\s+)*(?P<noun>{_NOUN})", _bare_noun),
    # -- everything else: known harmless phrases and words, or a decline
    ("|".join(f"(?:{p})" for p in FILLER_PHRASES), _const(SKIP)),
    (r"[,&+]|and", _mark("and")),  # kept: times of day must be joined ("morning and night")
    (r"[a-z]+(?:[-/'][a-z]+)*", _word),
]
# fmt: on
_RULES = [(re.compile(rf"(?:{src})(?![a-z0-9])", re.VERBOSE), b) for src, b in _RULES_SOURCE]


# ----------------------------------------------------------------------------- reading text
def normalise(text: str) -> str:
    """Lower case, digits for number words and halves, "b.d." -> "bd", punctuation -> ","."""
    s = text.lower().translate(str.maketrans("–—−‐×µ", "----xu"))
    s = s.replace("don't", "do not").replace("&", " and ")
    s = re.sub(r"(\d)\s*½", r"\1.5", s).replace("½", " 0.5 ")
    s = re.sub(r"\b[a-z](?:\.[a-z])+\b\.?", lambda m: m.group(0).replace(".", ""), s)  # b.d.
    for pattern, digits in NUMBER_WORDS:
        s = re.sub(rf"\b{pattern}\b", digits, s)
    s = _ROMAN.sub(_roman, s)
    s = re.sub(r"(?<![\d./])1/2(?![\d/])", "0.5", s)
    s = re.sub(r"\bhalf\s+an?\b|\ban?\s+half\b|\bhalf\b", "0.5", s)
    s = re.sub(r"\b(\d+)\s+and\s+0\.5\b", r"\1.5", s)  # "one and a half"
    s = re.sub(r"(?<!\d)\.|\.(?!\d)|:(?!\d\d)|[;()\[\]{}!?\"*]", " , ", s)
    s = re.sub(r"(\d|mg|ml|mcg|micrograms?|g)\s*-\s*(?=\d)", r"\1-", s)  # "2.5ml - 5ml"
    s = re.sub(r"(\d)\s*-\s*(?=hourly|hrly)", r"\1-", s)  # "4 - hourly"
    s = re.sub(r"(?:^|\s)-+(?=\s|$)", " , ", s)  # a dash between phrases
    return re.sub(r"\s+", " ", s).strip()


_ROMAN_WORD = "|".join(sorted(ROMAN_NUMERALS, key=len, reverse=True))
_ROMAN = re.compile(
    rf"""(?<![a-z0-9.])(?P<a>{_ROMAN_WORD})(?:\s*(?:-|to|or)\s*(?P<b>{_ROMAN_WORD}))?
         (?=\s*(?:(?:{_ADJ})\s+)*(?:{_NOUN}|{ROMAN_BEFORE})(?![a-z]))""",
    re.VERBOSE,
)


def _roman(m: re.Match[str]) -> str:
    """A Roman count where a count is expected (see ``ROMAN_NUMERALS``), else the text."""
    before = m.string[: m.start()].rstrip()
    previous = re.split(r"[\s]+", before)[-1] if before else ""
    previous = "," if previous.endswith(",") else previous
    if previous not in ROMAN_AFTER:
        return m.group(0)
    low = ROMAN_NUMERALS[m["a"]]
    return low if m["b"] is None else f"{low}-{ROMAN_NUMERALS[m['b']]}"


def tokenize(text: str) -> list[Token]:
    """Phrase tokens of normalised text, left to right; anything unknown is a ``Decline``."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        if text[pos] == " ":
            pos += 1
            continue
        prev = tokens[-1] if tokens else None
        token: Token | None = None
        for pattern, build in _RULES:
            m = pattern.match(text, pos)
            if m and m.end() > pos and (token := build(m, prev)) is not None:
                end = m.end()
                break
        if token is None:  # nothing matched: an unrecognised number or sign
            end = text.find(" ", pos) % (len(text) + 1)
            token = Decline(f"unrecognised wording: '{text[pos:end][:40]}'")
        if token is not SKIP:
            tokens.append(token)
        pos = end
    return tokens
