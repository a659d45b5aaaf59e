"""The committed rules/medicines tables: sources, freshness and coverage of the code lists."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from service.medicines.dictionary import HISTORY_COLUMNS, PRODUCT_COLUMNS, MedicinesDictionary
from service.medicines.model import IngredientClass
from service.medicines.names import parse_product_name

ROOT = Path(__file__).resolve().parents[3]
RULES = ROOT / "rules"
TABLES = RULES / "medicines"
REFERENCE = ROOT.parent / "shared" / "reference"
BUILD = ROOT / "tools" / "build_medicines.py"
DMD = "https://dmd.nhs.uk"
TARGET = {
    IngredientClass.OPIOID,
    IngredientClass.GABAPENTINOID,
    IngredientClass.BENZODIAZEPINE,
    IngredientClass.Z_DRUG,
}
CHAIN = re.compile(r"^VMP (?:previous|subsequent) to (\d+)$")


def read(name: str) -> list[dict[str, str]]:
    with (TABLES / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def reference() -> Path:
    if not REFERENCE.is_dir():
        pytest.skip(f"reference data not present: {REFERENCE}")
    return REFERENCE


@pytest.mark.parametrize(
    ("name", "columns"),
    [
        ("dmd_products.csv", PRODUCT_COLUMNS),
        ("rxnorm_products.csv", PRODUCT_COLUMNS),
        ("dmd_code_history.csv", HISTORY_COLUMNS),
    ],
)
def test_every_row_cites_known_sources(name: str, columns: tuple[str, ...]) -> None:
    known = set(yaml.safe_load((RULES / "sources.yaml").read_text("utf-8")))
    rows = read(name)
    assert rows
    assert tuple(rows[0]) == columns
    for number, row in enumerate(rows, start=2):
        ids = row["source"].split(";")
        assert row["source"] and set(ids) <= known, f"{name} row {number}: {row['source']!r}"


def test_every_amp_points_to_a_vmp_in_the_table() -> None:
    rows = read("dmd_products.csv")
    vmps = {r["code"] for r in rows if r["concept_type"] == "VMP"}
    for row in rows:
        if row["concept_type"] == "AMP" and row["vmp_code"]:
            assert row["vmp_code"] in vmps, row["name"]
        if row["concept_type"] == "VMP":
            assert row["vmp_code"] == row["code"]


@pytest.mark.reference
def test_generated_tables_are_up_to_date(tmp_path: Path) -> None:
    """Fails when rules/medicines differs from a fresh `make medicines`; run it and commit."""
    result = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [sys.executable, str(BUILD), "--reference", str(reference()), "--output", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for name in ("dmd_products.csv", "dmd_code_history.csv", "rxnorm_products.csv"):
        assert (tmp_path / name).read_bytes() == (TABLES / name).read_bytes(), (
            f"rules/medicines/{name} is stale: run `make medicines`"
        )


def _codelist_rows() -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for path in sorted((reference() / "dmd" / "codelists").glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            rows += list(csv.DictReader(handle))
    return rows


@pytest.mark.reference
def test_every_code_list_product_in_the_four_classes_resolves_by_code() -> None:
    rows = _codelist_rows()
    names: dict[str, str] = {}
    for row in rows:
        if not CHAIN.match(row["term"]):
            names.setdefault(row["code"], row["term"])
    dictionary = MedicinesDictionary.load(RULES)
    checked = 0
    for row in rows:
        code = row["code"]
        chain = CHAIN.match(row["term"])
        name = names.get(code) or (names.get(chain.group(1), "") if chain else "")
        parsed = parse_product_name(name, dictionary.vocabulary)
        assert parsed is not None, f"{code} {name!r} does not parse"
        if not any(i.ingredient_class in TARGET for i in parsed.ingredients):
            continue  # meprobamate, listed with the benzodiazepines
        product = dictionary.by_code(DMD, code)
        assert product is not None, f"{code} {name!r} is not in the dictionary"
        checked += 1
    assert checked > 10_000


@pytest.mark.reference
def test_key_products_resolve_by_current_and_older_ids() -> None:
    dictionary = MedicinesDictionary.load(RULES)
    with (reference() / "dmd" / "uk_key_products_dmd.csv").open(encoding="utf-8") as handle:
        key_products = list(csv.DictReader(handle))
    for key in key_products:
        for code in [key["vmp_id_current"], *filter(None, key["older_vmp_ids"].split(";"))]:
            product = dictionary.by_code(DMD, code)
            assert product is not None, code
            assert product.name == key["requested_or_dmd_name"], code
