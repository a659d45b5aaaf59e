"""MedicinesDictionary over the committed rules/medicines tables: codes, names, strengths."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from service.errors import ReferenceDataError
from service.medicines.dictionary import MedicinesDictionary
from service.medicines.model import IngredientClass, Product, Route, Use

ROOT = Path(__file__).resolve().parents[3]
RULES = ROOT / "rules"

DMD = "https://dmd.nhs.uk"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


@pytest.fixture(scope="module")
def dictionary() -> MedicinesDictionary:
    return MedicinesDictionary.load(RULES)


def dmd(dictionary: MedicinesDictionary, code: str) -> Product:
    product = dictionary.by_code(DMD, code)
    assert product is not None, code
    return product


def only(product: Product) -> tuple[str, float, str, float, str]:
    """The single ingredient's (name, value, unit, per_value, per_unit)."""
    (ingredient,) = product.ingredients
    s = ingredient.strength
    assert s is not None
    return (ingredient.name, s.value, s.unit, s.per_value, s.per_unit)


# ------------------------------------------------------------------ dm+d codes


@pytest.mark.parametrize("code", ["322711002", "36126511000001106"])
def test_old_and_new_vmp_ids_are_morphine_10mg_mr_tablets(
    dictionary: MedicinesDictionary, code: str
) -> None:
    product = dmd(dictionary, code)
    assert product.name == "Morphine 10mg modified-release tablets"
    assert only(product) == ("morphine", 10, "mg", 1, "unit")
    assert (product.route, product.modified_release, product.release_hours) == (
        Route.ORAL,
        True,
        12,
    )


def test_an_id_known_only_from_a_chain_takes_the_name_of_its_other_end(
    dictionary: MedicinesDictionary,
) -> None:
    # dfms lists "42128111000001101 VMP subsequent to 321196004"; only the old id is named.
    assert dmd(dictionary, "42128111000001101").name == "Diazepam 2mg tablets"
    assert dmd(dictionary, "321196004").name == "Diazepam 2mg tablets"


@pytest.mark.parametrize("system", [DMD, DMD + "/", SNOMED, " https://DMD.nhs.uk/ "])
def test_dmd_codes_resolve_under_every_uk_system_uri(
    dictionary: MedicinesDictionary, system: str
) -> None:
    product = dictionary.by_code(system, "36126511000001106")
    assert product is not None
    assert product.system == "dmd"


def test_unknown_code_or_system_gives_none(dictionary: MedicinesDictionary) -> None:
    assert dictionary.by_code(DMD, "999999999") is None
    assert dictionary.by_code("http://example.org/codes", "36126511000001106") is None
    assert dictionary.by_code(RXNORM, "36126511000001106") is None
    assert dictionary.by_code(DMD, "197696") is None


@pytest.mark.parametrize(
    ("code", "name", "expected", "modified_release", "hours"),
    [
        (
            "3652111000001109",
            "Zomorph 10mg modified-release capsules",
            ("morphine", 10, "mg", 1, "unit"),
            True,
            12,
        ),
        (
            "2896611000001106",
            "OxyContin 20mg modified-release tablets",
            ("oxycodone", 20, "mg", 1, "unit"),
            True,
            12,
        ),
        ("3778211000001107", "MXL 60mg capsules", ("morphine", 60, "mg", 1, "unit"), True, 24),
    ],
)
def test_brand_amps_resolve_with_strength_and_their_vmp(
    dictionary: MedicinesDictionary,
    code: str,
    name: str,
    expected: tuple[str, float, str, float, str],
    modified_release: bool,
    hours: int,
) -> None:
    product = dmd(dictionary, code)
    assert (product.concept_type, product.name) == ("AMP", name)
    assert only(product) == expected
    assert (product.modified_release, product.release_hours) == (modified_release, hours)


def test_brand_amp_without_strength_in_its_name_takes_the_vmps(
    dictionary: MedicinesDictionary,
) -> None:
    product = dictionary.by_name("Codafen Continus tablets")
    assert product is not None and product.concept_type == "AMP"
    strengths = {i.name: i.strength.value for i in product.ingredients if i.strength}
    assert strengths == {"codeine": 20, "ibuprofen": 300}


@pytest.mark.parametrize(
    ("code", "name"),
    [("17651711000001105", "Gabapentin 6% gel"), ("17648511000001107", "Gabapentin 6% gel")],
)
def test_gabapentin_gel_is_topical(dictionary: MedicinesDictionary, code: str, name: str) -> None:
    product = dmd(dictionary, code)
    assert (product.name, product.route, product.use) == (name, Route.TOPICAL, Use.TOPICAL)


def test_morphine_gel_is_topical(dictionary: MedicinesDictionary) -> None:
    product = dictionary.by_name("Morphine 0.1% gel")
    assert product is not None and product.system == "dmd"
    assert (product.route, product.use) == (Route.TOPICAL, Use.TOPICAL)


def test_methadone_oral_solution_is_substance_dependence(
    dictionary: MedicinesDictionary,
) -> None:
    """Not in any list (the analgesic lists exclude BNF 4.10), so it comes from the name."""
    product = dictionary.by_name("Methadone 1mg/ml oral solution")
    assert product is not None
    assert (product.system, product.concept_type) == ("name", "PARSED")
    assert product.use is Use.SUBSTANCE_DEPENDENCE
    assert only(product) == ("methadone", 1, "mg", 1, "ml")


def test_linctus_and_kaolin_mixture_are_non_analgesic(dictionary: MedicinesDictionary) -> None:
    linctus = dictionary.by_name("Methadone 2mg/5ml linctus")
    kaolin = dictionary.by_name("Kaolin and Morphine mixture")
    assert linctus is not None and kaolin is not None
    assert (linctus.use, kaolin.use) == (Use.NON_ANALGESIC, Use.NON_ANALGESIC)


def test_vtm_has_ingredients_without_strength(dictionary: MedicinesDictionary) -> None:
    product = dmd(dictionary, "412556009")
    assert (product.concept_type, product.name) == ("VTM", "Co-codamol")
    assert {(i.name, i.strength) for i in product.ingredients} == {
        ("codeine", None),
        ("paracetamol", None),
    }


# ------------------------------------------------------------------ RxNorm codes


@pytest.mark.parametrize(
    ("code", "expected", "route", "modified_release"),
    [
        ("197696", ("fentanyl", 0.075, "mg", 1, "hour"), Route.TRANSDERMAL, False),
        ("1049683", ("oxycodone", 10, "mg", 1, "unit"), Route.ORAL, False),
        ("1049593", ("oxycodone", 60, "mg", 1, "unit"), Route.ORAL, True),
        ("892495", ("morphine", 10, "mg", 1, "unit"), Route.ORAL, True),
        ("104693", ("temazepam", 20, "mg", 1, "unit"), Route.ORAL, False),
        ("1298088", ("flurazepam", 15, "mg", 1, "unit"), Route.ORAL, False),
        ("311700", ("midazolam", 1, "mg", 1, "ml"), Route.PARENTERAL, False),
    ],
)
def test_rxnorm_products(
    dictionary: MedicinesDictionary,
    code: str,
    expected: tuple[str, float, str, float, str],
    route: Route,
    modified_release: bool,
) -> None:
    product = dictionary.by_code(RXNORM, code)
    assert product is not None and product.system == "rxnorm"
    assert only(product) == expected
    assert (product.route, product.modified_release) == (route, modified_release)


def test_rxnorm_fentanyl_patch_is_75_micrograms_per_hour(dictionary: MedicinesDictionary) -> None:
    product = dictionary.by_code(RXNORM, "197696")
    assert product is not None
    strength = product.ingredients[0].strength
    assert strength is not None
    assert round(strength.mg_per_one * 1000, 9) == 75


@pytest.mark.parametrize(
    ("code", "ingredient"), [("563026", "diazepam"), ("1153378", "clonazepam")]
)
def test_rxnorm_benzodiazepine_brand_concepts_without_strength(
    dictionary: MedicinesDictionary, code: str, ingredient: str
) -> None:
    product = dictionary.by_code(RXNORM, code)
    assert product is not None
    assert [(i.name, i.ingredient_class, i.strength) for i in product.ingredients] == [
        (ingredient, IngredientClass.BENZODIAZEPINE, None)
    ]


def test_rxnorm_naloxone_is_class_naloxone(dictionary: MedicinesDictionary) -> None:
    product = dictionary.by_code(RXNORM, "1191212")
    assert product is not None
    assert [i.ingredient_class for i in product.ingredients] == [IngredientClass.NALOXONE]


def test_rxnorm_combination_keeps_both_ingredients(dictionary: MedicinesDictionary) -> None:
    product = dictionary.by_code(RXNORM, "836397")
    assert product is not None
    assert {i.name: i.strength.value for i in product.ingredients if i.strength} == {
        "paracetamol": 325,
        "tramadol": 37.5,
    }


def test_rxnorm_ingredient_from_the_factor_codesystem(dictionary: MedicinesDictionary) -> None:
    product = dictionary.by_code(RXNORM, "7052")
    assert product is not None
    assert (product.concept_type, product.ingredients[0].name) == ("IN", "morphine")


# ------------------------------------------------------------------ names


def test_exact_name_match_is_case_and_space_insensitive(dictionary: MedicinesDictionary) -> None:
    product = dictionary.by_name("  oxycontin 20MG   modified-release TABLETS")
    assert product is not None
    assert (product.code, product.concept_type) == ("2896611000001106", "AMP")


def test_shared_generic_name_prefers_the_current_vmp(dictionary: MedicinesDictionary) -> None:
    product = dictionary.by_name("Morphine 10mg modified-release tablets")
    assert product is not None
    assert (product.code, product.concept_type) == ("36126511000001106", "VMP")


def test_unlisted_name_is_parsed(dictionary: MedicinesDictionary) -> None:
    product = dictionary.by_name("oxycodone MR 15 mg tablets")
    assert product is not None
    assert (product.system, product.concept_type) == ("name", "PARSED")
    assert only(product) == ("oxycodone", 15, "mg", 1, "unit")
    assert product.modified_release


@pytest.mark.parametrize("text", ["as directed", "", "Zzyzx 10mg tablets"])
def test_unreadable_name_gives_none(dictionary: MedicinesDictionary, text: str) -> None:
    assert dictionary.by_name(text) is None


# ------------------------------------------------------------------ products_with


def test_products_with_lists_current_single_ingredient_vmps(
    dictionary: MedicinesDictionary,
) -> None:
    products = dictionary.products_with("morphine", Route.ORAL, modified_release=True)
    codes = {p.code for p in products}
    assert "36126511000001106" in codes  # current Morphine 10mg MR tablets
    assert "322711002" not in codes  # its superseded id
    assert all(p.concept_type == "VMP" and p.modified_release for p in products)
    assert all(len(p.ingredients) == 1 and p.use is Use.ANALGESIA for p in products)
    amounts = [p.ingredients[0].strength.mg_per_one for p in products if p.ingredients[0].strength]
    assert amounts == sorted(amounts)


def test_products_with_filters_release_and_route(dictionary: MedicinesDictionary) -> None:
    immediate = dictionary.products_with("oxycodone", Route.ORAL, modified_release=False)
    assert immediate and not any(p.modified_release for p in immediate)
    patches = dictionary.products_with("fentanyl", Route.TRANSDERMAL)
    rates = {p.ingredients[0].strength.value for p in patches if p.ingredients[0].strength}
    # The "12" patch is recorded at its nominal 12.5 (rules/medicines/nominal_patch_rates.csv).
    assert {12.5, 25, 50, 75, 100} <= rates
    assert dictionary.products_with("unobtainium", Route.ORAL) == ()


def test_products_with_leaves_out_non_analgesic_products(dictionary: MedicinesDictionary) -> None:
    names = {p.name for p in dictionary.products_with("methadone", Route.ORAL)}
    assert "Methadone 5mg tablets" in names
    assert "Methadone 2mg/5ml linctus" not in names


# ------------------------------------------------------------------ loading


def test_load_is_fast() -> None:
    started = time.perf_counter()
    MedicinesDictionary.load(RULES)
    assert time.perf_counter() - started < 1.0


def _copy_rules(tmp_path: Path) -> Path:
    shutil.copytree(RULES / "medicines", tmp_path / "medicines")
    # Every row's source is checked against the bibliography.
    shutil.copy(RULES / "sources.yaml", tmp_path / "sources.yaml")
    return tmp_path


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), "utf-8")


def test_bad_route_stops_loading_and_names_row_and_field(tmp_path: Path) -> None:
    rules = _copy_rules(tmp_path)
    _edit(rules / "medicines" / "dmd_products.csv", ",tablet,oral,tablet,", ",tablet,mouth,tablet,")
    with pytest.raises(ReferenceDataError, match=r"row \d+, field 'route'"):
        MedicinesDictionary.load(rules)


def test_half_a_strength_stops_loading(tmp_path: Path) -> None:
    rules = _copy_rules(tmp_path)
    _edit(rules / "medicines" / "rxnorm_products.csv", ",20,mg,1,unit,", ",20,,1,unit,")
    with pytest.raises(ReferenceDataError, match="all set or all empty"):
        MedicinesDictionary.load(rules)


def test_missing_source_stops_loading(tmp_path: Path) -> None:
    rules = _copy_rules(tmp_path)
    _edit(
        rules / "medicines" / "rxnorm_products.csv", ",analgesia,rxnorm-synthea\n", ",analgesia,\n"
    )
    with pytest.raises(ReferenceDataError, match="'source'"):
        MedicinesDictionary.load(rules)


def test_missing_table_says_how_to_regenerate(tmp_path: Path) -> None:
    rules = _copy_rules(tmp_path)
    (rules / "medicines" / "dmd_code_history.csv").unlink()
    with pytest.raises(ReferenceDataError, match="make medicines"):
        MedicinesDictionary.load(rules)
