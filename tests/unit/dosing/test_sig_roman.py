"""Roman-numeral counts in UK dose instructions (issue 9 item 6): "ii qds", "i bd",
"iii tds", "ii-iii prn", "ss" (a half). Read where a count is expected; never inside a word,
never the pronoun "I", never the route "iv"."""

from __future__ import annotations

from typing import Any

import pytest

from service.dosing.sig_text import SigDose, SigUnparsed, parse_sig
from tests.unit.ome.fhir_builders import Med, assess_resource, request


def case(text: str, case_id: str, amount: float, **fields: Any) -> Any:
    return pytest.param(text, amount, fields, id=case_id)


# fmt: off
READ = [
    case("ii qds", "ii-qds", 8, dose_high=2, administrations_per_day=4),
    case("i bd", "i-bd", 2, dose_high=1, administrations_per_day=2),
    case("iii tds", "iii-tds", 9, dose_high=3),
    case("II QDS", "upper-case-ii-qds", 8),
    case("ii-iii qds prn", "range-ii-iii-prn", 12, dose_low=2, dose_high=3, as_needed=True),
    case("take ii-iii tablets qds", "range-tablets", 12, unit_word="tablet"),
    case("ii to iii qds prn", "range-with-to", 12, dose_low=2, dose_high=3),
    case("ss nocte", "ss-half-at-night", 0.5, dose_high=0.5),
    case("iss bd", "iss-one-and-a-half", 3, dose_high=1.5),
    case("Take ii capsules bd", "take-ii-capsules", 4, unit_word="capsule"),
    case("i tablet at night", "i-tablet", 1, unit_word="tablet"),
    case("take i at night", "take-i-at-night", 1),
    case("i in the morning", "i-in-the-morning", 1),
    case("vi daily", "vi", 6),
    case("xii daily", "xii", 12),
    case("ii every 4 hours when required max viii in 24 hours", "max-viii", 8, max_per_day=8),
]
DECLINED = [
    pytest.param("1 if i need it", "unrecognised wording", id="pronoun-if-i-need-it"),
    pytest.param("i need one bd", "unrecognised wording: 'i'", id="pronoun-i-need"),
    pytest.param("mix bd", "unrecognised wording: 'mix'", id="mix-is-not-ix"),
    pytest.param("via bd", "no dose stated", id="via-is-not-vi"),
    pytest.param("xiii bd", "unrecognised wording: 'xiii'", id="beyond-xii"),
    pytest.param("ii-iii prn", "when required with no frequency and no maximum",
                 id="ii-iii-prn-read-as-counts-but-no-limit"),
]
# fmt: on


@pytest.mark.parametrize(("text", "amount", "fields"), READ)
def test_roman_counts_are_read(text: str, amount: float, fields: dict[str, Any]) -> None:
    result = parse_sig(text)
    assert isinstance(result, SigDose), f"{text!r} was declined: {result}"
    assert result.amount_per_day == pytest.approx(amount)
    for name, expected in fields.items():
        assert getattr(result, name) == pytest.approx(expected) or getattr(result, name) == (
            expected
        ), name


@pytest.mark.parametrize(("text", "reason"), DECLINED)
def test_roman_lookalikes_are_not_counts(text: str, reason: str) -> None:
    result = parse_sig(text)
    assert isinstance(result, SigUnparsed), f"{text!r} was read: {result}"
    assert reason in result.reason


def test_iv_after_a_dose_is_the_route_not_four() -> None:
    result = parse_sig("10mg iv qds")
    assert isinstance(result, SigDose)
    assert result.dose_high == 10 and result.amount_per_day == 40


def test_roman_and_arabic_read_the_same() -> None:
    for roman, arabic in [("ii qds", "2 qds"), ("i bd", "1 bd"), ("ss nocte", "0.5 nocte")]:
        a, b = parse_sig(roman), parse_sig(arabic)
        assert isinstance(a, SigDose) and isinstance(b, SigDose)
        assert a.amount_per_day == b.amount_per_day


# ------------------------------------------------------------------ OME vignettes
@pytest.mark.parametrize(
    ("name", "sig", "ome"),
    [
        pytest.param("Zomorph 30mg capsules", "ii bd", 120.0, id="zomorph-30-ii-bd-120"),
        pytest.param("Zomorph 30mg capsules", "i bd", 60.0, id="zomorph-30-i-bd-60"),
        pytest.param("Zomorph 10mg capsules", "ss nocte", 5.0, id="zomorph-10-ss-nocte-5"),
    ],
)
def test_roman_counts_give_the_ome(name: str, sig: str, ome: float) -> None:
    item = assess_resource(request(Med(name), text=sig))
    assert item.status.value == "calculated", item.explanation
    assert item.ome_mg_per_day == ome
