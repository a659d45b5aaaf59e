"""The medicines vocabulary (rules/medicines/ingredients.csv, ingredient_synonyms.csv,
brands.csv, bnf_uses.csv): loaded once, checked, and refused at start-up naming file, row
and field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from service.errors import ReferenceDataError
from service.medicines.model import IngredientClass, Route, Use
from service.medicines.vocabulary import Vocabulary
from service.ome.factors import FactorTable
from service.rulefiles import Sources

RULES = Path(__file__).resolve().parents[3] / "rules"


@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    return Vocabulary.load(RULES, Sources.load(RULES))


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(RULES, target)
    return target


def _append(path: Path, line: str) -> int:
    """Add a row; its line number."""
    text = path.read_text("utf-8")
    path.write_text(text + line + "\n", "utf-8")
    return text.count("\n") + 1


def _edit(path: Path, old: str, new: str) -> int:
    """Replace the first ``old``; the line number it was on."""
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), "utf-8")
    return text[: text.index(old)].count("\n") + 1


def test_the_classes_the_rules_depend_on(vocabulary: Vocabulary) -> None:
    assert vocabulary.ingredient_class["oxycodone"] is IngredientClass.OPIOID
    assert vocabulary.ingredient_class["pregabalin"] is IngredientClass.GABAPENTINOID
    assert vocabulary.ingredient_class["diazepam"] is IngredientClass.BENZODIAZEPINE
    assert vocabulary.ingredient_class["zopiclone"] is IngredientClass.Z_DRUG
    assert vocabulary.ingredient_class["paracetamol"] is IngredientClass.OTHER
    assert vocabulary.synonyms["meperidine"] == "pethidine"
    assert vocabulary.brands["targinact"].ingredients == ("oxycodone", "naloxone")
    assert vocabulary.brands["mxl"].release_hours == 24
    assert vocabulary.brands["subutex"].use is Use.SUBSTANCE_DEPENDENCE
    assert vocabulary.co_drugs["co-codamol"] == ("codeine", "paracetamol")


def test_bnf_section_4_10_is_substance_dependence(vocabulary: Vocabulary) -> None:
    assert vocabulary.use_from_bnf("0410030A0AAAAAA") is Use.SUBSTANCE_DEPENDENCE
    assert vocabulary.use_from_bnf("0309010C0AAAAAA") is Use.NON_ANALGESIC
    assert vocabulary.use_from_bnf("0407020Q0AAAAAA") is None
    assert vocabulary.use_from_bnf("") is None


@pytest.mark.parametrize(
    ("names", "dose_form", "route", "unit_mg", "liquid", "use"),
    [
        (["methadone"], "oral solution", Route.ORAL, 0.0, True, Use.SUBSTANCE_DEPENDENCE),
        (["methadone"], "tablet", Route.ORAL, 5.0, False, None),
        (["methadone"], "linctus", Route.ORAL, 0.0, True, Use.NON_ANALGESIC),
        (
            ["buprenorphine"],
            "sublingual tablet",
            Route.BUCCAL,
            2.0,
            False,
            Use.SUBSTANCE_DEPENDENCE,
        ),
        (["buprenorphine"], "sublingual tablet", Route.BUCCAL, 0.4, False, None),
        (["buprenorphine", "naloxone"], "film", Route.BUCCAL, 0.0, False, Use.SUBSTANCE_DEPENDENCE),
        (["kaolin", "morphine"], "oral suspension", Route.ORAL, 0.0, True, Use.NON_ANALGESIC),
    ],
)
def test_what_a_name_says_about_use(
    vocabulary: Vocabulary,
    names: list[str],
    dose_form: str,
    route: Route,
    unit_mg: float,
    liquid: bool,
    use: Use | None,
) -> None:
    assert vocabulary.use_by_name(names, dose_form, route, unit_mg, liquid) is use


def test_every_factor_row_names_an_opioid_of_the_vocabulary(vocabulary: Vocabulary) -> None:
    table = FactorTable.load(RULES)
    opioids = vocabulary.ingredients_of(IngredientClass.OPIOID)
    for profile in table.profiles():
        assert {ingredient for ingredient, _, _ in table.entries(profile)} <= opioids


def test_a_factor_for_an_ingredient_that_is_not_an_opioid_is_refused(rules_copy: Path) -> None:
    path = rules_copy / "ome" / "factors.csv"
    line = _append(
        path, "uk-opioids-aware,paracetamol,oral,factor,1,per_mg,project-decision,x,,why"
    )
    with pytest.raises(ReferenceDataError) as caught:
        FactorTable.load(rules_copy)
    assert (caught.value.file, caught.value.row, caught.value.field) == (
        str(path),
        line,
        "ingredient",
    )


@pytest.mark.parametrize(
    ("file", "old", "new", "field", "problem"),
    [
        pytest.param(
            "ingredients.csv",
            "gabapentin,gabapentinoid,",
            "gabapentin,anticonvulsant,",
            "class",
            "'anticonvulsant' is not one of",
            id="unknown-class",
        ),
        pytest.param(
            "ingredients.csv",
            "pregabalin,gabapentinoid,",
            "gabapentin,gabapentinoid,",
            "ingredient",
            "'gabapentin' is listed twice",
            id="duplicate-ingredient",
        ),
        pytest.param(
            "ingredient_synonyms.csv",
            "meperidine,pethidine,",
            "meperidine,pethidin,",
            "ingredient",
            "'pethidin' is not in rules/medicines/ingredients.csv",
            id="synonym-of-unknown-ingredient",
        ),
        pytest.param(
            "brands.csv",
            "targinact,oxycodone;naloxone,",
            "targinact,oxycodone;naloxon,",
            "ingredients",
            "'naloxon' is not in rules/medicines/ingredients.csv",
            id="brand-of-unknown-ingredient",
        ),
        pytest.param(
            "brands.csv",
            "zydol,tramadol,false,,,capsules,",
            "zydol,tramadol,false,,,capsules,a-blog-post;",
            "source",
            "unknown source 'a-blog-post'",
            id="brand-unknown-source",
        ),
        pytest.param(
            "brands.csv",
            "zydol,tramadol,false,,",
            "zydol,tramadol,no,,",
            "modified_release",
            "true or false",
            id="brand-not-true-or-false",
        ),
        pytest.param(
            "co_drugs.csv",
            "co-codamol,codeine;paracetamol,",
            "co-codamol,codeine;paracetamoll,",
            "ingredients",
            "'paracetamoll' is not in rules/medicines/ingredients.csv",
            id="co-drug-of-unknown-ingredient",
        ),
        pytest.param(
            "uses_by_name.csv",
            "methadone,,oral,",
            "methadon,,oral,",
            "ingredient",
            "'methadon' is not in rules/medicines/ingredients.csv",
            id="use-rule-of-unknown-ingredient",
        ),
        pytest.param(
            "bnf_uses.csv",
            "0410,substance_dependence,",
            "0410,dependence,",
            "use",
            "'dependence' is not one of",
            id="bnf-unknown-use",
        ),
    ],
)
def test_a_bad_vocabulary_row_stops_start_up_naming_file_row_and_field(
    rules_copy: Path, file: str, old: str, new: str, field: str, problem: str
) -> None:
    path = rules_copy / "medicines" / file
    line = _edit(path, old, new)
    with pytest.raises(ReferenceDataError) as caught:
        Vocabulary.load(rules_copy, Sources.load(rules_copy))
    error = caught.value
    assert (error.file, error.row, error.field) == (str(path), line, field)
    assert problem in error.problem
    assert str(error).startswith(f"{path}: row {line}, field {field!r}: ")
