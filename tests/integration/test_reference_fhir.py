"""Every UK FHIR example in ../shared/reference/uk-fhir that holds a MedicationRequest or
MedicationStatement goes through ``POST /ome`` without a 4xx/5xx, and its opioids resolve
to the OME a clinician would give (real-world-data.md §2).

- ukcore-r4: UK Core examples (https://dmd.nhs.uk codes), none of them an opioid.
- eps-r4: EPS prescription Bundles (http://snomed.info/sct codes): morphine MR "1 tablet,
  daily" as text only; fentanyl 25 patch every 72 hours with the SNOMED unit 419702001;
  co-codamol with a frequency but no dose; pregabalin and chlordiazepoxide "Follow
  directions".
- dose-syntax-r4: the NHS Dose Syntax worked examples (R4 doseAndRate shape).
- gpconnect-stu3: the GP Connect medications response: a MedicationStatement, its
  authorisation and its issues, counted once.

Skipped cleanly when ../shared/reference is absent.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.fhir.bundle import resources
from service.fhir.medication_record import read_medication_record
from service.medicines.identify import identify
from service.medicines.model import IngredientClass
from tests.conftest import REFERENCE, load_json, reference_path
from tests.unit.ome.fhir_builders import dictionary

pytestmark = pytest.mark.reference

FOLDERS = ("ukcore-r4", "eps-r4", "dose-syntax-r4", "gpconnect-stu3")
MEDICATION_TYPES = {"MedicationRequest", "MedicationStatement"}


def _holds_medication(value: Any) -> bool:
    if isinstance(value, dict):
        if value.get("resourceType") in MEDICATION_TYPES:
            return True
        return any(_holds_medication(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_medication(v) for v in value)
    return False


def example_files() -> list[Any]:
    """One pytest param per example file that holds a medication resource (collected from
    the reference folder when present; one skipped param when it is not)."""
    root = REFERENCE / "uk-fhir"
    if not root.exists():
        return [pytest.param(None, id="reference-absent")]
    files = [
        path
        for folder in FOLDERS
        for path in sorted((root / folder).glob("*.json"))
        if path.name != "index.json" and _holds_medication(load_json(path))
    ]
    return [pytest.param(p, id=f"{p.parent.name}/{p.stem}") for p in files]


def post(client: TestClient, body: Any) -> dict[str, Any]:
    response = client.post("/ome", json=body)
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


def example(folder: str, name: str) -> Any:
    return load_json(reference_path("uk-fhir", folder, name))


def rows(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Medication rows by name; a name given twice keeps its counted row."""
    out: dict[str, dict[str, Any]] = {}
    for row in report["medications"]:
        if row["name"] not in out or row["counted"]:
            out[row["name"]] = row
    return out


# What each example's opioids must come to (uk-opioids-aware): name → (status, OME/day,
# daily-dose basis). Every other row must be a non-opioid, a record that is not current, or
# a record that names no medicine at all.
EPS = "eps-r4"
DOSE_SYNTAX = "dose-syntax-r4"
CO_CODAMOL_SUPPLY = {
    "Co-codamol 30mg/500mg tablets": ("calculated", 6.0, "quantity and supply duration")
}
EXPECTED: dict[str, dict[str, tuple[str, float | None, str | None]]] = {
    f"{EPS}/cd-morphine10mr-diazepam2mg.prepare-request": {
        "Morphine 10mg modified-release tablets": ("calculated", 10.0, "dosage text"),
    },
    f"{EPS}/morphine15mr-fentanyl25patch-multi.prepare-request": {
        "Morphine 15mg modified-release tablets": ("calculated", 30.0, "dosage text"),
        "Fentanyl 25micrograms/hour transdermal patches": (
            "calculated",
            60.0,
            "structured dosage",
        ),
    },
    # Timing 2 a day but no dose: the text ("2 times a day for 10 days") names no dose, so
    # 20 tablets over 10 days = 2 tablets a day (consistent with the timing) = 60 mg codeine.
    f"{EPS}/primary-acute-cocodamol.prepare-request": CO_CODAMOL_SUPPLY,
    f"{EPS}/primary-acute-multiple-dosages.prepare-request": CO_CODAMOL_SUPPLY,
    f"{EPS}/primary-repeat-prescribing-cocodamol.prepare-request": CO_CODAMOL_SUPPLY,
    # "Morphine modified release capsule, 20mg orally every 12 hours" (VTM, route oral)
    f"{DOSE_SYNTAX}/example-dosage-complex16": {
        "Morphine": ("calculated", 40.0, "structured dosage")
    },
    # "Morphine, 30mg, intravenously, injection, four times a day" (VTM, parenteral x 2)
    f"{DOSE_SYNTAX}/example-dosage-inter11": {
        "Morphine": ("calculated", 240.0, "structured dosage")
    },
    # "2 tablets ... every 4 hours ... Maximum dose 6 tablets every 24 hours" = 48 mg codeine
    f"{DOSE_SYNTAX}/example-dosage-complex4-alt1": {
        "Co-codamol 8mg/500mg tablets": ("calculated", 4.8, "structured dosage"),
    },
    f"{DOSE_SYNTAX}/example-dosage-complex4-alt2": {
        "Co-codamol 8mg/500mg tablets": ("calculated", 4.8, "structured dosage"),
    },
    # Migraleve (codeine, paracetamol and buclizine) is not in the dictionary: unresolved.
    f"{DOSE_SYNTAX}/example-dosage-limitation-combinationproducts": {
        "Migraleve tablets (McNeil Products Ltd)": ("unresolved", None, None),
    },
}
TOTALS = {
    f"{EPS}/cd-morphine10mr-diazepam2mg.prepare-request": 10.0,
    f"{EPS}/morphine15mr-fentanyl25patch-multi.prepare-request": 90.0,
}


@pytest.mark.parametrize("path", example_files())
def test_every_uk_example_loads_and_its_opioids_resolve(
    client: TestClient, path: Path | None
) -> None:
    if path is None:
        pytest.skip("reference data not present: ../shared/reference/uk-fhir")
    key = f"{path.parent.name}/{path.stem}"
    report = post(client, load_json(path))
    expected = EXPECTED.get(key, {})
    found = rows(report)
    for name, (status, ome, basis) in expected.items():
        assert name in found, f"{name} not in {sorted(found)}"
        row = found[name]
        assert row["status"] == status, row["explanation"]
        assert row["ome_mg_per_day"] == (None if ome is None else pytest.approx(ome, abs=0.05))
        if basis is not None:
            assert row["daily_dose"]["basis"] == basis
        if status == "unresolved":
            assert row["reason"]  # says why, never a silent 0
    for name, row in found.items():
        if name in expected:
            continue
        assert row["status"] != "calculated", f"an opioid missing from EXPECTED: {row}"
        if row["status"] == "unresolved":
            # Only examples that name no medicine, or point at a Medication they do not
            # include, may be unresolved here.
            assert _names_no_medicine_or_points_nowhere(row["reason"]), row
    calculated = sum(r["ome_mg_per_day"] for r in report["medications"] if r["counted"])
    assert report["total_ome_mg_per_day"] == pytest.approx(calculated)
    if key in TOTALS:
        assert report["total_ome_mg_per_day"] == TOTALS[key]


def test_every_expected_example_exists() -> None:
    root = reference_path("uk-fhir")
    for key in EXPECTED:
        folder, stem = key.split("/")
        assert (root / folder / f"{stem}.json").exists(), key


# ---------------------------------------------------------------------- EPS specifics


def eps_records(name: str) -> list[Any]:
    found, _ = resources(example(EPS, name), "medications")
    return [
        read_medication_record(x.resource, x.path, {})
        for x in found
        if x.resource["resourceType"] in MEDICATION_TYPES
    ]


def test_eps_pregabalin_and_chlordiazepoxide_are_identified_by_class(client: TestClient) -> None:
    """Not opioids, so no OME (their "Follow directions" dose is not needed), but they must
    be identified: the co-prescribing rules depend on it."""
    records = eps_records("chlordiazepoxide-pregabalin.prepare-request.json")
    classes = {}
    for record in records:
        product = identify(record.medication, dictionary()).product
        for ingredient in product.ingredients if product is not None else ():
            classes[ingredient.name] = ingredient.ingredient_class
    # (The example's code 321249002 is the tablets VMP although its display says capsules:
    # the code is what is identified.)
    assert classes["pregabalin"] is IngredientClass.GABAPENTINOID
    assert classes["chlordiazepoxide"] is IngredientClass.BENZODIAZEPINE
    report = post(client, example(EPS, "chlordiazepoxide-pregabalin.prepare-request.json"))
    assert {r["status"] for r in report["medications"]} == {"not_opioid"}
    assert (report["total_ome_mg_per_day"], report["complete"]) == (0.0, True)


def test_eps_diazepam_is_identified_as_a_benzodiazepine() -> None:
    records = eps_records("cd-morphine10mr-diazepam2mg.prepare-request.json")
    products = [identify(r.medication, dictionary()).product for r in records]
    diazepam = next(p for p in products if p is not None and p.name == "Diazepam 2mg tablets")
    assert diazepam.has_class(IngredientClass.BENZODIAZEPINE)


def test_eps_fentanyl_patch_unit_is_the_snomed_patch(client: TestClient) -> None:
    body = example(EPS, "morphine15mr-fentanyl25patch-multi.prepare-request.json")
    patch = rows(post(client, body))["Fentanyl 25micrograms/hour transdermal patches"]
    assert patch["explanation"] == (
        "Fentanyl 25micrograms/hour transdermal patches, 1 patch, every 3 days = "
        "25 micrograms/hour × 2.4 = 60 mg OME/day"
    )


def test_eps_morphine_text_only_sig(client: TestClient) -> None:
    body = example(EPS, "cd-morphine10mr-diazepam2mg.prepare-request.json")
    morphine = rows(post(client, body))["Morphine 10mg modified-release tablets"]
    assert morphine["daily_dose"]["description"] == "1 tablet daily"
    assert morphine["identified_by"] == "dm+d code 36126511000001106"


# ----------------------------------------------------------------------- GP Connect

GPC = "gpconnect-stu3"
GPC_FILE = "gpconnect-structured-medications-response.json"
ASPIRIN_MEDICATION = "8b339981-e9be-4e37-bf03-799295a6aec8"


def test_gp_connect_example_counts_its_repeat_once(client: TestClient) -> None:
    """Aspirin: a MedicationStatement, its authorisation (intent=plan) and two issues."""
    report = post(client, example(GPC, GPC_FILE))
    aspirin = [m for m in report["medications"] if m["name"].startswith("Aspirin")]
    assert len(aspirin) == 4
    current = [m for m in aspirin if m["status"] == "not_opioid"]
    assert [m["reference"] for m in current] == [
        "MedicationRequest/8e078d04-8312-433a-b6b4-46bf52542b0c"  # the authorisation
    ]
    statement = next(m for m in aspirin if m["reference"].startswith("MedicationStatement"))
    assert "counted_once" in statement["flags"]
    assert all(
        "not_current" in m["flags"]
        for m in aspirin
        if m["reference"].endswith(
            ("8afe3af9-995d-4ccc-9211-f8c2620be670", "a946012a-283b-46c4-8312-e1312a54ab9c")
        )
    )


def test_gp_connect_example_with_an_opioid_counts_it_once(client: TestClient) -> None:
    """The same record with the repeat's Medication recoded as co-codamol 30/500 (SNOMED
    322341003), "TAKE ONE 3 TIMES/DAY": 90 mg codeine = 9.0 mg OME/day once, not two or
    three times over (statement, authorisation and active issues)."""
    body = copy.deepcopy(example(GPC, GPC_FILE))
    for entry in body["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Medication" and resource["id"] == ASPIRIN_MEDICATION:
            resource["code"] = {
                "coding": [
                    {
                        "system": "http://snomed.info/sct",
                        "code": "322341003",
                        "display": "Co-codamol 30mg/500mg tablets",
                    }
                ]
            }
        if resource.get("id") == "8afe3af9-995d-4ccc-9211-f8c2620be670":
            resource["status"] = "active"  # an issue still in progress
    report = post(client, body)
    codamol = [m for m in report["medications"] if m["name"] == "Co-codamol 30mg/500mg tablets"]
    counted = [m for m in codamol if m["counted"]]
    assert len(counted) == 1
    assert counted[0]["ome_mg_per_day"] == 9.0
    assert report["total_ome_mg_per_day"] == 9.0
    assert sum("counted_once" in m["flags"] for m in codamol) == 2  # statement + active issue


# -------------------------------------------------------------------------- UK Core


def test_uk_core_examples_together_resolve_their_medication_references(
    client: TestClient,
) -> None:
    """Sent as one Bundle, the MedicationRequests' references to Medication examples
    resolve (e.g. the eye drops to Timoptol), and none of them is an opioid."""
    folder = reference_path("uk-fhir", "ukcore-r4")
    wanted = MEDICATION_TYPES | {"Medication"}
    entries = [
        {"resource": r}
        for r in (load_json(p) for p in sorted(folder.glob("*.json")))
        if r.get("resourceType") in wanted
    ]
    report = post(client, {"resourceType": "Bundle", "type": "collection", "entry": entries})
    names = {m["name"] for m in report["medications"]}
    assert any("Timoptol" in name for name in names)
    assert all(m["status"] != "calculated" for m in report["medications"])
    unresolved = [m for m in report["medications"] if m["status"] == "unresolved"]
    assert all(_names_no_medicine_or_points_nowhere(m["reason"]) for m in unresolved)


def _names_no_medicine_or_points_nowhere(reason: str) -> bool:
    return reason == "not identified: the prescription names no medicine" or (
        reason.startswith("not identified: its medicationReference 'urn:uuid:")
        and reason.endswith("could not be resolved (not contained, not in the Bundle or prefetch)")
    )
