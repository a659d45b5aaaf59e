"""rules/ome/factors.csv and profiles.yaml, as loaded by service.ome.factors."""

from __future__ import annotations

import dataclasses
import json
import textwrap
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from service.errors import ReferenceDataError
from service.medicines.model import Route
from service.ome.factors import (
    COLUMNS,
    Basis,
    FactorStatus,
    FactorTable,
    StatedDailyMaximum,
)

ROOT = Path(__file__).resolve().parents[3]
RULES = ROOT / "rules"
REFERENCE = ROOT.parent / "shared" / "reference"

UK = "uk-opioids-aware"
US = "us-cdc-2022"
PER_MG = Basis.PER_MG
PER_MCG_H = Basis.PER_MICROGRAM_PER_HOUR


@pytest.fixture(scope="module")
def table() -> FactorTable:
    return FactorTable.load(RULES)


# ----------------------------------------------------------------- the real table


def test_profiles_and_default(table: FactorTable) -> None:
    assert table.profiles() == (UK, US)
    assert table.default_profile == UK


@pytest.mark.parametrize(
    ("profile", "ingredient", "route", "factor", "basis"),
    [
        # Opioids Aware / BNF
        (UK, "morphine", Route.ORAL, 1, PER_MG),
        (UK, "codeine", Route.ORAL, 0.1, PER_MG),
        (UK, "dihydrocodeine", Route.ORAL, 0.1, PER_MG),
        (UK, "tramadol", Route.ORAL, 0.1, PER_MG),
        (UK, "tapentadol", Route.ORAL, 0.4, PER_MG),
        (UK, "oxycodone", Route.ORAL, 1.5, PER_MG),
        (UK, "hydromorphone", Route.ORAL, 5, PER_MG),
        (UK, "fentanyl", Route.TRANSDERMAL, 2.4, PER_MCG_H),
        (UK, "buprenorphine", Route.TRANSDERMAL, 2.4, PER_MCG_H),
        (UK, "morphine", Route.PARENTERAL, 2, PER_MG),
        # choices where sources disagree (ADR 0002)
        (UK, "oxycodone", Route.PARENTERAL, 3, PER_MG),
        (UK, "buprenorphine", Route.BUCCAL, 60, PER_MG),
        (UK, "hydromorphone", Route.PARENTERAL, 12.5, PER_MG),
        (UK, "fentanyl", Route.BUCCAL, 130, PER_MG),
        (UK, "fentanyl", Route.NASAL, 160, PER_MG),
        (UK, "alfentanil", Route.PARENTERAL, 30, PER_MG),
        # CDC 2022 clinical
        (US, "codeine", Route.ORAL, 0.15, PER_MG),
        (US, "fentanyl", Route.TRANSDERMAL, 2.4, PER_MCG_H),
        (US, "hydrocodone", Route.ORAL, 1, PER_MG),
        (US, "hydromorphone", Route.ORAL, 5, PER_MG),
        (US, "methadone", Route.ORAL, 4.7, PER_MG),
        (US, "morphine", Route.ORAL, 1, PER_MG),
        (US, "oxycodone", Route.ORAL, 1.5, PER_MG),
        (US, "oxymorphone", Route.ORAL, 3, PER_MG),
        (US, "tapentadol", Route.ORAL, 0.4, PER_MG),
        (US, "tramadol", Route.ORAL, 0.2, PER_MG),
        # CDC research factors needed by the cqframework vectors
        (US, "fentanyl", Route.NASAL, 160, PER_MG),
        (US, "fentanyl", Route.BUCCAL, 180, PER_MG),
    ],
)
def test_factor_values(
    table: FactorTable,
    profile: str,
    ingredient: str,
    route: Route,
    factor: float,
    basis: Basis,
) -> None:
    found = table.lookup(profile, ingredient, route)
    assert found.status is FactorStatus.FACTOR
    assert found.factor == pytest.approx(factor)
    assert found.basis is basis
    assert found.source
    assert found.source_locator


def test_diamorphine_parenteral_is_the_bnf_ratio_10_over_3(table: FactorTable) -> None:
    found = table.lookup(UK, "diamorphine", Route.PARENTERAL)
    assert found.factor == pytest.approx(10 / 3, rel=1e-7)
    assert _round(3 * _factor(found.factor)) == Decimal("10.0")
    assert _round(36 * _factor(found.factor)) == Decimal("120.0")  # not 118.8 as at 3.3


@pytest.mark.parametrize(
    ("profile", "ingredient", "route", "status"),
    [
        (UK, "methadone", Route.ORAL, FactorStatus.NO_FIXED_RATIO),
        (UK, "methadone", Route.PARENTERAL, FactorStatus.NO_FIXED_RATIO),
        (UK, "methadone", Route.INHALATION, FactorStatus.NO_FIXED_RATIO),
        (UK, "remifentanil", Route.PARENTERAL, FactorStatus.NOT_COUNTED),
        (UK, "morphine", Route.TOPICAL, FactorStatus.NOT_COUNTED),
        (US, "buprenorphine", Route.TRANSDERMAL, FactorStatus.NOT_COUNTED),
        (US, "buprenorphine", Route.BUCCAL, FactorStatus.NOT_COUNTED),
        (US, "buprenorphine", Route.PARENTERAL, FactorStatus.NOT_COUNTED),
    ],
)
def test_rows_without_a_number(
    table: FactorTable, profile: str, ingredient: str, route: Route, status: FactorStatus
) -> None:
    found = table.lookup(profile, ingredient, route)
    assert found.status is status
    assert found.factor is None
    assert found.basis is None
    assert found.notes


@pytest.mark.parametrize(
    ("profile", "ingredient", "route"),
    [
        (UK, "hydrocodone", Route.ORAL),  # not a UK product
        (UK, "morphine", Route.NASAL),
        (US, "fentanyl", Route.PARENTERAL),  # cqframework OMTK-3: injection -> null
        (US, "dihydrocodeine", Route.ORAL),  # CDC research only; not needed by the vectors
        ("no-such-profile", "morphine", Route.ORAL),
        (UK, "paracetamol", Route.ORAL),
    ],
)
def test_unknown_combination_is_unknown_never_zero(
    table: FactorTable, profile: str, ingredient: str, route: Route
) -> None:
    found = table.lookup(profile, ingredient, route)
    assert found.status is FactorStatus.UNKNOWN
    assert found.factor is None
    assert found.basis is None
    assert found.source == ()
    assert found.notes


def test_lookup_normalises_ingredient_case_and_space(table: FactorTable) -> None:
    assert table.lookup(UK, " Morphine ", Route.ORAL) == table.lookup(UK, "morphine", Route.ORAL)


def test_lookups_are_immutable(table: FactorTable) -> None:
    found = table.lookup(UK, "morphine", Route.ORAL)
    with pytest.raises(dataclasses.FrozenInstanceError):
        found.factor = 2.0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        table._default_profile = US  # type: ignore[misc]


def test_row_counts(table: FactorTable) -> None:
    assert len(table.entries(UK)) == 46
    assert len(table.entries(US)) == 15


# ome-reference.md §2.3: every listed disagreement must carry its alternatives and the
# reason for the choice.
DISAGREEMENTS = [
    (UK, "tramadol", Route.ORAL),
    (UK, "hydromorphone", Route.ORAL),
    (UK, "hydromorphone", Route.PARENTERAL),
    (UK, "oxycodone", Route.ORAL),
    (UK, "oxycodone", Route.PARENTERAL),
    (UK, "fentanyl", Route.TRANSDERMAL),
    (UK, "buprenorphine", Route.TRANSDERMAL),
    (UK, "buprenorphine", Route.BUCCAL),
    (UK, "codeine", Route.ORAL),
    (UK, "dihydrocodeine", Route.ORAL),
    (UK, "methadone", Route.ORAL),
    (UK, "morphine", Route.PARENTERAL),
    (UK, "diamorphine", Route.PARENTERAL),
    (UK, "tapentadol", Route.ORAL),
    (UK, "fentanyl", Route.BUCCAL),
    (UK, "fentanyl", Route.PARENTERAL),
    (US, "tramadol", Route.ORAL),
    (US, "hydromorphone", Route.ORAL),
    (US, "methadone", Route.ORAL),
    (US, "codeine", Route.ORAL),
    (US, "buprenorphine", Route.TRANSDERMAL),
    (US, "buprenorphine", Route.BUCCAL),
    (US, "fentanyl", Route.BUCCAL),
]


@pytest.mark.parametrize(("profile", "ingredient", "route"), DISAGREEMENTS)
def test_disagreements_record_alternatives_and_reason(
    table: FactorTable, profile: str, ingredient: str, route: Route
) -> None:
    found = table.lookup(profile, ingredient, route)
    assert found.status is not FactorStatus.UNKNOWN
    assert found.alternatives
    assert found.notes


def test_twelve_microgram_patch_treatment_is_recorded(table: FactorTable) -> None:
    notes = table.lookup(UK, "fentanyl", Route.TRANSDERMAL).notes
    assert "12.5" in notes
    assert "28.8" in notes


def test_profiles_round_to_a_tenth_and_count_prn_at_maximum(table: FactorTable) -> None:
    for profile_id in table.profiles():
        profile = table.profile(profile_id)
        assert profile.rounding.decimal_places == 1
        assert profile.prn.label == "maximum possible"
        assert profile.rounding.source
        assert profile.prn.source
    assert table.profile(UK).prn.stated_daily_maximum is StatedDailyMaximum.CAP
    assert table.profile(US).prn.stated_daily_maximum is StatedDailyMaximum.IGNORE
    with pytest.raises(KeyError):
        table.profile("no-such-profile")


# cqframework opioid-mme-r4 vectors (ome-reference §7.1) that the US profile reproduces:
# mg (or microgram/hour) per day x factor, rounded per ingredient to 0.1.
@pytest.mark.parametrize(
    ("vector", "ingredient", "route", "daily_amount", "expected"),
    [
        ("MMEC-2", "fentanyl", Route.TRANSDERMAL, 75, "180.0"),
        ("OMTK-1", "fentanyl", Route.TRANSDERMAL, 25, "60.0"),
        ("OMTK-2", "fentanyl", Route.TRANSDERMAL, 37.5, "90.0"),
        ("OMTK-5", "fentanyl", Route.NASAL, 0.4 * 3, "192.0"),
        ("OMTK-6", "fentanyl", Route.BUCCAL, 1.2 * 2, "432.0"),
        ("OMTK-8", "oxycodone", Route.ORAL, 10 * 4, "60.0"),
        ("OMTK-9", "oxycodone", Route.ORAL, 30 * 2, "90.0"),
        ("MMEC-3", "oxycodone", Route.ORAL, 10 * 2, "30.0"),
    ],
)
def test_cqframework_vectors(
    table: FactorTable,
    vector: str,
    ingredient: str,
    route: Route,
    daily_amount: float,
    expected: str,
) -> None:
    found = table.lookup(US, ingredient, route)
    assert _round(daily_amount * _factor(found.factor)) == Decimal(expected), vector


def test_omtk7_mucosal_spray_deviation_is_documented(table: FactorTable) -> None:
    # Route.BUCCAL holds one factor; cqframework's 160 for "Mucosal Spray" cannot coexist
    # with 180 for buccal film (OMTK-6). 0.1 mg x 3 gives 54, not cqframework's 48.
    found = table.lookup(US, "fentanyl", Route.BUCCAL)
    assert _round(0.1 * 3 * _factor(found.factor)) == Decimal("54.0")
    assert "OMTK-7" in found.notes


@pytest.mark.reference
def test_us_profile_matches_cqframework_cdc_2022_supplement(table: FactorTable) -> None:
    path = REFERENCE / "factors" / "cqf_codesystem-CDCMMEClinicalConversionFactors_2022.json"
    if not path.is_file():
        pytest.skip(f"{path} not present")
    concepts = json.loads(path.read_text(encoding="utf-8"))["concept"]
    checked = 0
    for concept in concepts:
        ingredient = concept["display"].lower()
        props = {p["code"]: p for p in concept["property"]}
        if ingredient == "fentanyl":
            form, _, rest = props["dose-form-conversion-factor"]["valueString"].partition(":")
            per_mg_per_hour, _, doses_per_day = rest.partition("@")
            expected = float(per_mg_per_hour) * float(doses_per_day) / 1000
            route = Route.TRANSDERMAL
            assert form == "316987"
        else:
            expected = props["conversion-factor"]["valueDecimal"]
            route = Route.ORAL
        found = table.lookup(US, ingredient, route)
        assert found.factor == pytest.approx(expected, rel=1e-6), ingredient
        checked += 1
    assert checked == 10
    # buprenorphine is absent from the supplement: CDC 2022 does not count it.
    assert not any(c["display"].lower() == "buprenorphine" for c in concepts)


def _factor(value: float | None) -> float:
    assert value is not None
    return value


def _round(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


# --------------------------------------------------------------------- the loader

SOURCES = textwrap.dedent(
    """\
    src-a:
      title: A
      url: https://example.org/a
      verified: primary
    src-b:
      title: B
      url: https://example.org/b
      verified: secondary
    """
)

PROFILES = textwrap.dedent(
    """\
    profiles:
      - id: p-one
        title: One
        description: The first profile.
        default: true
        sources: [src-a]
        rounding:
          decimal_places: 1
          source: [src-a]
          source_locator: somewhere
          notes: why
        prn:
          stated_daily_maximum: cap
          label: maximum possible
          source: [src-b]
          source_locator: somewhere
          notes: why
      - id: p-two
        title: Two
        description: The second profile.
        default: false
        sources: [src-b]
        rounding:
          decimal_places: 1
          source: [src-b]
          source_locator: somewhere
          notes: why
        prn:
          stated_daily_maximum: ignore
          label: maximum possible
          source: [src-b]
          source_locator: somewhere
          notes: why
    """
)

HEADER = ",".join(COLUMNS)
GOOD_ROWS = [
    "p-one,morphine,oral,factor,1,per_mg,src-a,table 1,,reference opioid",
    "p-one,fentanyl,transdermal,factor,2.4,per_microgram_per_hour,src-a;src-b,table 2,,patch",
    "p-one,methadone,oral,no_fixed_ratio,,,src-a,page 3,3 elsewhere,specialist review",
    "p-two,buprenorphine,transdermal,not_counted,,,src-b,row 4,2.4 elsewhere,excluded",
]


VOCABULARY = {
    "ingredients.csv": "ingredient,class,source,notes\n"
    + "".join(
        f"{name},opioid,src-a,\n" for name in ("morphine", "fentanyl", "methadone", "buprenorphine")
    )
    + "paracetamol,other,src-a,\n",
    "ingredient_synonyms.csv": "synonym,ingredient,source,notes\n",
    "brands.csv": (
        "brand,ingredients,modified_release,release_hours,use,default_form,source,notes\n"
    ),
    "bnf_uses.csv": "bnf_prefix,use,source,notes\n",
    "co_drugs.csv": "co_drug,ingredients,source,notes\n",
    "uses_by_name.csv": (
        "ingredient,with_ingredient,route,dose_form,liquid_only,min_unit_mg,use,source,notes\n"
    ),
}


def _write_rules(
    tmp_path: Path,
    rows: list[str],
    *,
    header: str = HEADER,
    profiles: str = PROFILES,
    sources: str = SOURCES,
) -> Path:
    rules = tmp_path / "rules"
    (rules / "ome").mkdir(parents=True)
    (rules / "sources.yaml").write_text(sources, encoding="utf-8")
    (rules / "ome" / "profiles.yaml").write_text(profiles, encoding="utf-8")
    (rules / "ome" / "factors.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    # The opioids a row may name come from the medicines vocabulary.
    medicines = rules / "medicines"
    medicines.mkdir()
    for name, text in VOCABULARY.items():
        (medicines / name).write_text(text, encoding="utf-8")
    return rules


def test_loader_accepts_a_well_formed_table(tmp_path: Path) -> None:
    table = FactorTable.load(_write_rules(tmp_path, GOOD_ROWS))
    assert table.profiles() == ("p-one", "p-two")
    assert table.default_profile == "p-one"
    patch = table.lookup("p-one", "fentanyl", Route.TRANSDERMAL)
    assert patch.source == ("src-a", "src-b")
    assert patch.basis is Basis.PER_MICROGRAM_PER_HOUR


# Each case: the row that replaces GOOD_ROWS[0] (CSV line 2), and the field blamed.
BAD_ROWS = [
    pytest.param(
        "p-one,morphine,oral,factor,1,per_mg,no-such-source,table 1,,n",
        "source",
        "no-such-source",
        id="unknown-source-id",
    ),
    pytest.param(
        "p-one,morphine,oral,factor,1,per_mg,src-a;;src-b,table 1,,n",
        "source",
        "empty source id",
        id="empty-source-id",
    ),
    pytest.param(
        "p-one,morphine,oral,factor,,per_mg,src-a,table 1,,n",
        "factor",
        "required",
        id="missing-factor",
    ),
    pytest.param(
        "p-one,morphine,oral,factor,0,per_mg,src-a,table 1,,n",
        "factor",
        "greater than 0",
        id="zero-factor",
    ),
    pytest.param(
        "p-one,morphine,oral,factor,-1,per_mg,src-a,table 1,,n",
        "factor",
        "greater than 0",
        id="negative-factor",
    ),
    pytest.param(
        "p-one,morphine,oral,factor,nan,per_mg,src-a,table 1,,n",
        "factor",
        "greater than 0",
        id="nan-factor",
    ),
    pytest.param(
        "p-one,morphine,oral,factor,10mg:1,per_mg,src-a,table 1,,n",
        "factor",
        "not a number",
        id="packed-factor",
    ),
    pytest.param(
        "p-one,morphine,oral,not_counted,1,,src-a,table 1,,n",
        "factor",
        "must be empty",
        id="factor-on-not-counted",
    ),
    pytest.param(
        "p-one,morphine,oral,no_fixed_ratio,,per_mg,src-a,table 1,,n",
        "basis",
        "must be empty",
        id="basis-on-no-fixed-ratio",
    ),
    pytest.param(
        "p-one,morphine,oral,unknown,,,src-a,table 1,,n",
        "status",
        "not one of",
        id="status-unknown-not-allowed-in-file",
    ),
    pytest.param(
        "p-one,morphine,oral,maybe,1,per_mg,src-a,table 1,,n",
        "status",
        "not one of",
        id="bad-status",
    ),
    pytest.param(
        "p-one,morphine,oral,factor,1,per_gram,src-a,table 1,,n",
        "basis",
        "not one of",
        id="bad-basis",
    ),
    pytest.param(
        "p-one,morphine,transdermal,factor,1,per_mg,src-a,table 1,,n",
        "basis",
        "transdermal",
        id="patch-per-mg",
    ),
    pytest.param(
        "p-one,morphine,oral,factor,1,per_microgram_per_hour,src-a,table 1,,n",
        "basis",
        "transdermal",
        id="oral-per-rate",
    ),
    pytest.param(
        "p-one,morphine,by-mouth,factor,1,per_mg,src-a,table 1,,n",
        "route",
        "not one of",
        id="bad-route",
    ),
    pytest.param(
        "p-one,Morphine,oral,factor,1,per_mg,src-a,table 1,,n",
        "ingredient",
        "canonical",
        id="non-canonical-ingredient",
    ),
    pytest.param(
        "p-three,morphine,oral,factor,1,per_mg,src-a,table 1,,n",
        "profile",
        "p-three",
        id="undefined-profile",
    ),
    pytest.param(
        "p-one,morphine,oral,factor,1,per_mg,,table 1,,n",
        "source",
        "empty source id",
        id="no-source",
    ),
    pytest.param(
        "p-one,morphine,oral,factor,1,per_mg,src-a,,,n",
        "source_locator",
        "empty",
        id="no-locator",
    ),
    pytest.param(
        "p-one,morphine,oral,factor,1,per_mg,src-a,table 1,,",
        "notes",
        "empty",
        id="no-notes",
    ),
]


@pytest.mark.parametrize(("bad_row", "field", "reason"), BAD_ROWS)
def test_loader_rejects_a_bad_row(tmp_path: Path, bad_row: str, field: str, reason: str) -> None:
    rules = _write_rules(tmp_path, [bad_row, *GOOD_ROWS[1:]])
    with pytest.raises(ReferenceDataError) as caught:
        FactorTable.load(rules)
    error = caught.value
    assert error.file == str(rules / "ome" / "factors.csv")
    assert error.row == 2
    assert error.field == field
    assert reason in error.problem
    assert str(error).startswith(f"{error.file}: row 2, field {field!r}: ")


def test_loader_rejects_a_duplicate_combination(tmp_path: Path) -> None:
    duplicate = "p-one,morphine,oral,factor,1.5,per_mg,src-b,table 9,,again"
    rules = _write_rules(tmp_path, [*GOOD_ROWS, duplicate])
    with pytest.raises(ReferenceDataError) as caught:
        FactorTable.load(rules)
    assert caught.value.row == len(GOOD_ROWS) + 2
    assert caught.value.field == "route"
    assert "duplicate of row 2" in caught.value.problem


def test_the_same_combination_in_two_profiles_is_not_a_duplicate(tmp_path: Path) -> None:
    other = "p-two,morphine,oral,factor,1,per_mg,src-b,table 1,,reference opioid"
    table = FactorTable.load(_write_rules(tmp_path, [*GOOD_ROWS, other]))
    assert table.lookup("p-two", "morphine", Route.ORAL).source == ("src-b",)


def test_loader_rejects_a_wrong_header(tmp_path: Path) -> None:
    header = HEADER.replace("source_locator", "locator")
    with pytest.raises(ReferenceDataError) as caught:
        FactorTable.load(_write_rules(tmp_path, GOOD_ROWS, header=header))
    assert caught.value.row == 1
    assert caught.value.field == "header"
    assert "header" in caught.value.problem


def test_loader_rejects_a_short_row(tmp_path: Path) -> None:
    with pytest.raises(ReferenceDataError) as caught:
        FactorTable.load(_write_rules(tmp_path, [*GOOD_ROWS, "p-one,morphine,oral"]))
    assert caught.value.row == len(GOOD_ROWS) + 2
    assert caught.value.field == "status"
    assert "expected 10 fields" in caught.value.problem


def test_loader_rejects_a_missing_file(tmp_path: Path) -> None:
    rules = _write_rules(tmp_path, GOOD_ROWS)
    (rules / "ome" / "factors.csv").unlink()
    with pytest.raises(ReferenceDataError, match=r"factors\.csv"):
        FactorTable.load(rules)


@pytest.mark.parametrize(
    ("old", "new", "field", "reason"),
    [
        ("sources: [src-a]", "sources: [src-x]", "profiles[0].sources", "src-x"),
        ("source: [src-b]", "source: [src-y]", "profiles[0].prn.source", "src-y"),
        ("default: false", "default: true", "profiles[].default", "exactly one"),
        (
            "stated_daily_maximum: cap",
            "stated_daily_maximum: banker",
            "profiles[0].prn.stated_daily_maximum",
            "not one of",
        ),
        (
            "decimal_places: 1",
            "decimal_places: 0.1",
            "profiles[0].rounding.decimal_places",
            "whole",
        ),
        ("default: true", "default: yes please", "profiles[0].default", "true or false"),
        ("label: maximum possible", "label: ''", "profiles[0].prn.label", "must not be empty"),
        ("id: p-two", "id: p-one", "profiles[1].id", "defined twice"),
        (
            "      notes: why\n",
            "      notes: why\n      extra: 1\n",
            "profiles[0].rounding.extra",
            "unrecognised",
        ),
    ],
)
def test_loader_rejects_a_bad_profile(
    tmp_path: Path, old: str, new: str, field: str, reason: str
) -> None:
    assert old in PROFILES
    rules = _write_rules(tmp_path, GOOD_ROWS, profiles=PROFILES.replace(old, new, 1))
    with pytest.raises(ReferenceDataError) as caught:
        FactorTable.load(rules)
    assert caught.value.file == str(rules / "ome" / "profiles.yaml")
    assert caught.value.row is None
    assert caught.value.field == field
    assert reason in caught.value.problem
    assert f"profiles.yaml: field {field!r}: " in str(caught.value)


def test_loader_rejects_invalid_yaml(tmp_path: Path) -> None:
    broken = SOURCES + "src-c:\n  title: Unquoted: colon: here\n"
    with pytest.raises(ReferenceDataError, match=r"sources\.yaml: the whole file: not valid YAML"):
        FactorTable.load(_write_rules(tmp_path, GOOD_ROWS, sources=broken))
