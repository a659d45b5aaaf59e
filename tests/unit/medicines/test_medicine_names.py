"""Reading a medicine from its name: dm+d VMP/AMP names, RxNorm names, brands, free text."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from service.medicines.model import IngredientClass, Route, Use
from service.medicines.names import ParsedName, normalise_name, parse_product_name
from service.medicines.vocabulary import Vocabulary
from service.rulefiles import Sources

RULES = Path(__file__).resolve().parents[3] / "rules"
# The parser reads names with the vocabulary the service loads at start-up.
VOCABULARY = Vocabulary.load(RULES, Sources.load(RULES))

OPIOID = IngredientClass.OPIOID
OTHER = IngredientClass.OTHER


def parse(name: str) -> ParsedName:
    parsed = parse_product_name(name, VOCABULARY)
    assert parsed is not None, name
    return parsed


def strengths(parsed: ParsedName) -> list[tuple[str, float, str, float, str]]:
    """(ingredient, value, unit, per_value, per_unit) for each ingredient with a strength."""
    return [
        (i.name, i.strength.value, i.strength.unit, i.strength.per_value, i.strength.per_unit)
        for i in parsed.ingredients
        if i.strength is not None
    ]


@dataclass(frozen=True)
class Vignette:
    name: str
    strengths: list[tuple[str, float, str, float, str]]
    route: Route
    unit: str
    modified_release: bool = False
    release_hours: int | None = None
    use: Use = Use.ANALGESIA


VIGNETTES = [
    Vignette(
        "Co-codamol 30mg/500mg tablets",
        [("codeine", 30, "mg", 1, "unit"), ("paracetamol", 500, "mg", 1, "unit")],
        Route.ORAL,
        "tablet",
    ),
    Vignette(
        "Co-dydramol 10mg/500mg tablets",
        [("dihydrocodeine", 10, "mg", 1, "unit"), ("paracetamol", 500, "mg", 1, "unit")],
        Route.ORAL,
        "tablet",
    ),
    Vignette(
        "Co-codamol 30mg/500mg/5ml oral solution sugar free",
        [("codeine", 30, "mg", 5, "ml"), ("paracetamol", 500, "mg", 5, "ml")],
        Route.ORAL,
        "ml",
    ),
    # The salt is named, the strength is the salt's, the ingredient is the base.
    Vignette(
        "Morphine sulfate 10mg/5ml oral solution",
        [("morphine", 10, "mg", 5, "ml")],
        Route.ORAL,
        "ml",
    ),
    Vignette(
        "Fentanyl 25micrograms/hour transdermal patches",
        [("fentanyl", 25, "microgram", 1, "hour")],
        Route.TRANSDERMAL,
        "patch",
    ),
    Vignette(
        "Buprenorphine 10micrograms/hour transdermal patches",
        [("buprenorphine", 10, "microgram", 1, "hour")],
        Route.TRANSDERMAL,
        "patch",
    ),
    Vignette(
        "Oxycodone 20mg modified-release tablets",
        [("oxycodone", 20, "mg", 1, "unit")],
        Route.ORAL,
        "tablet",
        modified_release=True,
        release_hours=12,
    ),
    Vignette(
        "Oxycodone 10mg / Naloxone 5mg modified-release tablets",
        [("oxycodone", 10, "mg", 1, "unit"), ("naloxone", 5, "mg", 1, "unit")],
        Route.ORAL,
        "tablet",
        modified_release=True,
        release_hours=12,
    ),
    Vignette(
        "Morphine 10mg/1ml solution for injection ampoules",
        [("morphine", 10, "mg", 1, "ml")],
        Route.PARENTERAL,
        "ampoule",
    ),
    Vignette(
        "Diamorphine 10mg powder for solution for injection ampoules",
        [("diamorphine", 10, "mg", 1, "unit")],
        Route.PARENTERAL,
        "ampoule",
    ),
    Vignette(
        "Fentanyl 200microgram lozenges",
        [("fentanyl", 200, "microgram", 1, "unit")],
        Route.BUCCAL,
        "lozenge",
    ),
    Vignette(
        "Fentanyl 100micrograms/dose nasal spray",
        [("fentanyl", 100, "microgram", 1, "dose")],
        Route.NASAL,
        "spray",
    ),
    Vignette(
        "Morphine 0.1% gel",
        [("morphine", 1, "mg", 1, "g")],
        Route.TOPICAL,
        "g",
        use=Use.TOPICAL,
    ),
    Vignette(
        "Gabapentin 6% gel",
        [("gabapentin", 60, "mg", 1, "g")],
        Route.TOPICAL,
        "g",
        use=Use.TOPICAL,
    ),
    Vignette(
        "Morphine sulfate 10mg suppositories",
        [("morphine", 10, "mg", 1, "unit")],
        Route.RECTAL,
        "suppository",
    ),
    Vignette(
        "Diamorphine 30mg impregnated cigarettes",
        [("diamorphine", 30, "mg", 1, "unit")],
        Route.INHALATION,
        "cigarette",
    ),
    Vignette(
        "Papaveretum 15.4mg/1ml / Hyoscine hydrobromide 400micrograms/1ml solution for "
        "injection ampoules",
        [("papaveretum", 15.4, "mg", 1, "ml"), ("hyoscine", 400, "microgram", 1, "ml")],
        Route.PARENTERAL,
        "ampoule",
    ),
    Vignette(
        "Ibuprofen 300mg modified-release / Codeine 20mg tablets",
        [("ibuprofen", 300, "mg", 1, "unit"), ("codeine", 20, "mg", 1, "unit")],
        Route.ORAL,
        "tablet",
        modified_release=True,
        release_hours=12,
    ),
    Vignette(
        "Morphine sulfate 10mg/5ml oral solution unit dose vials sugar free",
        [("morphine", 10, "mg", 5, "ml")],
        Route.ORAL,
        "vial",
    ),
    Vignette(
        "Morphine 20mg modified-release granules sachets sugar free",
        [("morphine", 20, "mg", 1, "unit")],
        Route.ORAL,
        "sachet",
        modified_release=True,
        release_hours=12,
    ),
]


@pytest.mark.parametrize("vignette", VIGNETTES, ids=lambda v: v.name)
def test_dmd_names_give_ingredients_strengths_and_form(vignette: Vignette) -> None:
    parsed = parse(vignette.name)
    assert strengths(parsed) == vignette.strengths
    assert (parsed.route, parsed.unit_of_presentation) == (vignette.route, vignette.unit)
    assert parsed.modified_release is vignette.modified_release
    assert parsed.release_hours == vignette.release_hours
    assert parsed.use is vignette.use


def test_combination_ingredients_keep_their_classes() -> None:
    parsed = parse("Co-codamol 30mg/500mg tablets")
    assert [(i.name, i.ingredient_class) for i in parsed.ingredients] == [
        ("codeine", OPIOID),
        ("paracetamol", OTHER),
    ]


# Boundary pairs: one name the parser must accept and a near miss it must reject or read
# differently.


@pytest.mark.parametrize("text", ["as directed", "", "   ", "10mg tablets", "Foo 10mg tablets"])
def test_text_without_a_known_ingredient_or_brand_is_not_identified(text: str) -> None:
    assert parse_product_name(text, VOCABULARY) is None


def test_paracetamol_is_identified_as_class_other_only() -> None:
    parsed = parse("Paracetamol 500mg tablets")
    assert [(i.name, i.ingredient_class) for i in parsed.ingredients] == [("paracetamol", OTHER)]


def test_unknown_second_ingredient_rejects_the_whole_name() -> None:
    assert parse_product_name("Paracetamol 500mg / Zzyzx 10mg tablets", VOCABULARY) is None


@pytest.mark.parametrize(
    ("name", "modified_release", "hours"),
    [
        ("Oxycodone 20mg tablets", False, None),
        ("Oxycodone 20mg prolonged-release tablets", True, 12),
        ("Oxycodone MR 20mg tablets", True, 12),
        ("Zydol SR 100mg tablets", True, 12),
        ("Zydol XL 200mg tablets", True, 24),
        ("Zamadol 24hr 150mg modified-release tablets", True, 24),
        ("MST Continus 30mg tablets", True, 12),
        ("MXL 30mg capsules", True, 24),
        ("OxyContin 40mg modified-release tablets", True, 12),
        ("Onexila XL 40mg tablets", True, 24),
        ("oxycodone hydrochloride 60 MG 12 HR Extended Release Oral Tablet", True, 12),
        ("24 HR Hydrocodone Bitartrate 20 MG Extended Release Oral Capsule", True, 24),
    ],
)
def test_modified_release_and_release_hours(
    name: str, modified_release: bool, hours: int | None
) -> None:
    parsed = parse(name)
    assert (parsed.modified_release, parsed.release_hours) == (modified_release, hours)


def test_patches_are_not_modified_release_even_with_72_hr_in_the_name() -> None:
    parsed = parse("72 HR Fentanyl 0.075 MG/HR Transdermal System")
    assert parsed.route is Route.TRANSDERMAL
    assert (parsed.modified_release, parsed.release_hours) == (False, None)


@pytest.mark.parametrize(
    ("name", "use"),
    [
        ("Methadone 1mg/ml oral solution", Use.SUBSTANCE_DEPENDENCE),
        ("Physeptone 1mg/ml mixture", Use.SUBSTANCE_DEPENDENCE),
        ("Methadone 5mg tablets", Use.ANALGESIA),
        ("Methadone 2mg/5ml linctus", Use.NON_ANALGESIC),
        ("Subutex 8mg sublingual tablets", Use.SUBSTANCE_DEPENDENCE),
        ("Espranor 8mg oral lyophilisates", Use.SUBSTANCE_DEPENDENCE),
        ("Buprenorphine 2mg sublingual tablets", Use.SUBSTANCE_DEPENDENCE),
        ("Temgesic 400microgram sublingual tablets", Use.ANALGESIA),
        ("Buprenorphine 8mg / Naloxone 2mg sublingual tablets", Use.SUBSTANCE_DEPENDENCE),
        ("Codeine 15mg/5ml linctus", Use.NON_ANALGESIC),
        ("Codeine 25mg/5ml oral solution", Use.ANALGESIA),
        ("Kaolin and Morphine mixture", Use.NON_ANALGESIC),
        ("Morphine 0.2% gel", Use.TOPICAL),
        ("Morphine 10mg/5ml oral solution", Use.ANALGESIA),
    ],
)
def test_use_separates_analgesia_from_dependence_cough_and_topical(name: str, use: Use) -> None:
    assert parse(name).use is use


BRANDS = {
    "OxyContin 20mg modified-release tablets": {"oxycodone"},
    "Zomorph 10mg modified-release capsules": {"morphine"},
    "MST Continus 10mg tablets": {"morphine"},
    "MXL 60mg capsules": {"morphine"},
    "Oramorph 10mg/5ml oral solution": {"morphine"},
    "Sevredol 10mg tablets": {"morphine"},
    "Shortec 5mg capsules": {"oxycodone"},
    "Longtec 10mg modified-release tablets": {"oxycodone"},
    "Matrifen 25micrograms/hour transdermal patches": {"fentanyl"},
    "Durogesic DTrans 50micrograms/hour transdermal patches": {"fentanyl"},
    "Butrans 5micrograms/hour transdermal patches": {"buprenorphine"},
    "BuTrans 10micrograms/hour transdermal patches": {"buprenorphine"},
    "Transtec 35micrograms/hour transdermal patches": {"buprenorphine"},
    "Palexia SR 50mg tablets": {"tapentadol"},
    "Zydol 50mg capsules": {"tramadol"},
    "Tramacet 37.5mg/325mg tablets": {"tramadol", "paracetamol"},
    "Zapain 30mg/500mg capsules": {"codeine", "paracetamol"},
    "Solpadol 30mg/500mg caplets": {"codeine", "paracetamol"},
    "Tylex 30mg/500mg capsules": {"codeine", "paracetamol"},
    "Kapake 30mg/500mg tablets": {"codeine", "paracetamol"},
    "Targinact 10mg/5mg modified-release tablets": {"oxycodone", "naloxone"},
    "Lyrica 75mg capsules": {"pregabalin"},
    "Neurontin 300mg capsules": {"gabapentin"},
    "Valium 5mg tablets": {"diazepam"},
    "Stilnoct 10mg tablets": {"zolpidem"},
    "Zimovane 7.5mg tablets": {"zopiclone"},
    "Subutex 2mg sublingual tablets": {"buprenorphine"},
    "Espranor 8mg oral lyophilisates": {"buprenorphine"},
    "Physeptone 5mg tablets": {"methadone"},
}


@pytest.mark.parametrize("name", sorted(BRANDS))
def test_brands_map_to_their_ingredients(name: str) -> None:
    parsed = parse(name)
    assert {i.name for i in parsed.ingredients} == BRANDS[name]
    assert parsed.brand


def test_brand_combination_strengths_follow_the_brand_order() -> None:
    assert strengths(parse("Targinact 20mg/10mg modified-release tablets")) == [
        ("oxycodone", 20, "mg", 1, "unit"),
        ("naloxone", 10, "mg", 1, "unit"),
    ]
    # Eroset writes paracetamol first.
    assert strengths(parse("Eroset 500mg/10mg tablets")) == [
        ("paracetamol", 500, "mg", 1, "unit"),
        ("dihydrocodeine", 10, "mg", 1, "unit"),
    ]


def test_brand_without_strength_keeps_ingredients_without_strength() -> None:
    parsed = parse("Solpadeine Plus soluble tablets")
    assert {i.name for i in parsed.ingredients} == {"paracetamol", "codeine", "caffeine"}
    assert all(i.strength is None for i in parsed.ingredients)


def test_brand_alone_takes_its_usual_form() -> None:
    parsed = parse("MST 10mg")
    assert (parsed.route, parsed.modified_release, parsed.form_stated) == (
        Route.ORAL,
        True,
        False,
    )


def test_older_patch_names_without_per_hour_are_rates() -> None:
    assert strengths(parse("Durogesic 25micrograms transdermal patches")) == [
        ("fentanyl", 25, "microgram", 1, "hour")
    ]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "72 HR Fentanyl 0.075 MG/HR Transdermal System",
            [("fentanyl", 0.075, "mg", 1, "hour")],
        ),
        (
            "oxycodone hydrochloride 60 MG 12 HR Extended Release Oral Tablet",
            [("oxycodone", 60, "mg", 1, "unit")],
        ),
        (
            "Acetaminophen 325 MG / tramadol 37.5 MG Oral Tablet",
            [("paracetamol", 325, "mg", 1, "unit"), ("tramadol", 37.5, "mg", 1, "unit")],
        ),
        ("1 ML Morphine Sulfate 5 MG/ML Injection", [("morphine", 5, "mg", 1, "ml")]),
        ("fentaNYL 0.4 MG/ACTUAT nasal spray", [("fentanyl", 0.4, "mg", 1, "dose")]),
        ("Meperidine Hydrochloride 50 MG Oral Tablet", [("pethidine", 50, "mg", 1, "unit")]),
    ],
)
def test_rxnorm_names(name: str, expected: list[tuple[str, float, str, float, str]]) -> None:
    assert strengths(parse(name)) == expected


def test_rxnorm_brand_concept_without_strength() -> None:
    parsed = parse("Clonazepam [Klonopin]")
    assert [(i.name, i.ingredient_class, i.strength) for i in parsed.ingredients] == [
        ("clonazepam", IngredientClass.BENZODIAZEPINE, None)
    ]
    assert parsed.brand == "klonopin"


def test_rxnorm_multiple_ingredient_name() -> None:
    parsed = parse("Acetaminophen/Hydrocodone")
    assert {i.name for i in parsed.ingredients} == {"paracetamol", "hydrocodone"}


def test_naloxone_is_not_an_opioid_but_its_own_class() -> None:
    """The antagonist: class naloxone (issue 17: take-home naloxone), never an opioid."""
    parsed = parse("Naloxone Hydrochloride 0.02 MG/ML Injectable Solution")
    assert [i.ingredient_class for i in parsed.ingredients] == [IngredientClass.NALOXONE]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "co-codamol 30/500",
            [("codeine", 30, "mg", 1, "unit"), ("paracetamol", 500, "mg", 1, "unit")],
        ),
        ("fentanyl 25mcg/hr patch", [("fentanyl", 25, "microgram", 1, "hour")]),
        ("Fentanyl 25\u00b5g/hour patch", [("fentanyl", 25, "microgram", 1, "hour")]),
        ("Fentanyl 25\u03bcg/hour patch", [("fentanyl", 25, "microgram", 1, "hour")]),
        (
            "Co-codamol 30/500mg tablets",
            [("codeine", 30, "mg", 1, "unit"), ("paracetamol", 500, "mg", 1, "unit")],
        ),
        ("Fentanyl 25 micrograms / hour patches", [("fentanyl", 25, "microgram", 1, "hour")]),
        ("morphine sulphate 10mg/5ml", [("morphine", 10, "mg", 5, "ml")]),
        ("OXYCODONE 5 MG CAPSULES", [("oxycodone", 5, "mg", 1, "unit")]),
    ],
)
def test_free_text_variants(text: str, expected: list[tuple[str, float, str, float, str]]) -> None:
    assert strengths(parse(text)) == expected


def test_a_pack_of_two_presentations_keeps_no_single_strength() -> None:
    parsed = parse("Gabapentin 600mg tablets and Gabapentin 300mg capsules")
    assert [(i.name, i.strength) for i in parsed.ingredients] == [("gabapentin", None)]
    assert parsed.unit_of_presentation == "pack"


@pytest.mark.parametrize(
    ("name", "ingredient_class"),
    [
        ("Diazepam 5mg tablets", IngredientClass.BENZODIAZEPINE),
        ("Temazepam 20 MG Oral Tablet", IngredientClass.BENZODIAZEPINE),
        ("Midazolam 1 MG/ML Injectable Solution", IngredientClass.BENZODIAZEPINE),
        ("Zopiclone 7.5mg tablets", IngredientClass.Z_DRUG),
        ("Pregabalin 75mg capsules", IngredientClass.GABAPENTINOID),
        ("Meprobamate 400mg tablets", IngredientClass.OTHER),
    ],
)
def test_ingredient_classes(name: str, ingredient_class: IngredientClass) -> None:
    assert [i.ingredient_class for i in parse(name).ingredients] == [ingredient_class]


def test_normalise_name_ignores_case_and_spacing() -> None:
    assert normalise_name("  OxyContin   20mg\tmodified-release TABLETS ") == (
        "oxycontin 20mg modified-release tablets"
    )
