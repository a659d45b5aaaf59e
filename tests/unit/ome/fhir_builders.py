"""Build FHIR medication resources the way real clients send them, and assess them.

Shared by the OME unit, property and integration tests. Products are named by their dm+d
VMP names and ids as they appear in ``rules/medicines/dmd_products.csv``, so a vignette reads
as a prescription does: ``request(OXYCODONE_MR_40, text="1 twice a day")``.

Resources are plain dicts (FHIR JSON). ``dosage(...)`` writes the R4 ``doseAndRate`` shape
unless ``stu3=True`` (``doseQuantity`` directly on the Dosage, as GP Connect sends it).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

from service.fhir.medication_record import read_medication_record
from service.medicines.dictionary import MedicinesDictionary
from service.medicines.identify import identify
from service.ome.calculate import MedicationOme, assess
from service.ome.factors import FactorTable
from service.ome.regimen import Regimen, build_regimen

RULES = Path(__file__).resolve().parents[3] / "rules"

UK = "uk-opioids-aware"
US = "us-cdc-2022"

DMD = "https://dmd.nhs.uk"
DMD_SLASH = "https://dmd.nhs.uk/"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"

#: A date after every start date used in the vignettes (the default "today" of a regimen).
TODAY = date(2026, 11, 22)

Json = dict[str, Any]


class Med(NamedTuple):
    """A medicine as a prescriber picks it: the dm+d name and its id (None: by name only)."""

    name: str
    code: str | None = None
    system: str = DMD


# -- dm+d products (current VMP ids unless stated) ---------------------------------------
MORPHINE_MR_10 = Med("Morphine 10mg modified-release tablets", "36126511000001106")
MORPHINE_MR_10_OLD_ID = Med("Morphine 10mg modified-release tablets", "322711002")
MORPHINE_MR_15 = Med("Morphine 15mg modified-release tablets", "36126811000001109")
MORPHINE_MR_30 = Med("Morphine 30mg modified-release tablets", "36127311000001102")
MORPHINE_MR_60 = Med("Morphine 60mg modified-release tablets", "36127711000001103")
MORPHINE_MR_CAPS_30 = Med("Morphine 30mg modified-release capsules", "36127211000001105")
MORPHINE_SOLUTION_10_5 = Med("Morphine sulfate 10mg/5ml oral solution", "36128311000001101")
MORPHINE_INJECTION_10_1 = Med(
    "Morphine sulfate 10mg/1ml solution for injection ampoules", "354043009"
)
MORPHINE_VTM = Med("Morphine", "73572009")
MORPHINE_GEL = Med("Morphine 0.1% gel", "19976311000001109")
GABAPENTIN_GEL = Med("Gabapentin 6% gel", "17651711000001105")
OXYCODONE_MR_40 = Med("Oxycodone 40mg modified-release tablets", "36130911000001104")
OXYCODONE_CAPS_5 = Med("Oxycodone 5mg capsules", "42016011000001103")
OXYCODONE_NALOXONE_10_5 = Med(
    "Oxycodone 10mg / Naloxone 5mg modified-release tablets", "14985811000001101"
)
CO_CODAMOL_30_500 = Med("Co-codamol 30mg/500mg tablets", "42009811000001101")
CO_CODAMOL_8_500 = Med("Co-codamol 8mg/500mg tablets", "322307006")
CO_DYDRAMOL_10_500 = Med("Co-dydramol 10mg/500mg tablets", "322311000")
TRAMADOL_CAPS_50 = Med("Tramadol 50mg capsules", "42017811000001106")
TAPENTADOL_50 = Med("Tapentadol 50mg tablets", "442472008")
FENTANYL_PATCH_12 = Med("Fentanyl 12micrograms/hour transdermal patches", "9752311000001101")
FENTANYL_PATCH_25 = Med("Fentanyl 25micrograms/hour transdermal patches", "36120011000001101")
BUPRENORPHINE_PATCH_10 = Med(
    "Buprenorphine 10micrograms/hour transdermal patches", "9567411000001100"
)
DIAMORPHINE_INJECTION_30 = Med(
    "Diamorphine 30mg powder for solution for injection ampoules", "322525003"
)
METHADONE_TABLETS_5 = Med("Methadone 5mg tablets", "322591003")
PREGABALIN_CAPS_300 = Med("Pregabalin 300mg capsules", "415165003")
DIAZEPAM_2 = Med("Diazepam 2mg tablets", "321196004")
# Not in the dictionary's code lists (substance-misuse products are left out of them):
# identified by name.
METHADONE_SOLUTION_1MG_ML = Med("Methadone 1mg/ml oral solution sugar free")
SUBUTEX_8 = Med("Subutex 8mg sublingual tablets")
AMOXICILLIN_500 = Med("Amoxicillin 500mg capsules")


# -- FHIR pieces ---------------------------------------------------------------------------
def concept(med: Med) -> Json:
    """A medicationCodeableConcept: the coded product, or only its name as text."""
    if med.code is None:
        return {"text": med.name}
    return {"coding": [{"system": med.system, "code": med.code, "display": med.name}]}


def quantity(value: float, unit: str, code: str | None = None, system: str = UCUM) -> Json:
    return {"value": value, "unit": unit, "system": system, "code": code or unit}


def mg(value: float) -> Json:
    return quantity(value, "mg")


def ml(value: float) -> Json:
    return quantity(value, "mL")


def tablets(value: float) -> Json:
    """A count of tablets, as EPS codes it (SNOMED CT 428673006 'tablet')."""
    return quantity(value, "tablet", "428673006", SNOMED)


def capsules(value: float) -> Json:
    return quantity(value, "capsule", "{capsule}")


def patches(value: float) -> Json:
    """A count of patches, as EPS codes it (SNOMED CT 419702001 'patch')."""
    return quantity(value, "patch", "419702001", SNOMED)


def ampoules(value: float) -> Json:
    return quantity(value, "ampoule", "{ampoule}")


def hours(value: float) -> Json:
    return quantity(value, "hour", "h")


def days(value: float) -> Json:
    return quantity(value, "day", "d")


ORAL = {"coding": [{"system": SNOMED, "code": "26643006", "display": "Oral route"}]}
SUBCUTANEOUS = {"coding": [{"system": SNOMED, "code": "34206005", "display": "Subcutaneous"}]}
INTRAVENOUS = {"coding": [{"system": SNOMED, "code": "47625008", "display": "Intravenous"}]}
TOPICAL = {"coding": [{"system": SNOMED, "code": "6064005", "display": "Topical route"}]}
EPIDURAL = {"coding": [{"system": SNOMED, "code": "404820008", "display": "Epidural route"}]}


def dosage(
    text: str | None = None,
    *,
    dose: Json | None = None,
    dose_range: tuple[Json, Json] | None = None,
    frequency: float | None = None,
    frequency_max: float | None = None,
    period: float | None = None,
    period_max: float | None = None,
    period_unit: str | None = None,
    time_of_day: Sequence[str] = (),
    when: Sequence[str] = (),
    as_needed: bool | None = None,
    max_per_period: tuple[Json, Json] | None = None,
    rate: Json | None = None,
    rate_ratio: tuple[Json, Json] | None = None,
    sequence: int | None = None,
    route: Json | None = None,
    patient_instruction: str | None = None,
    stu3: bool = False,
) -> Json:
    """One FHIR Dosage. Only what is given is written."""
    out: Json = {}
    if sequence is not None:
        out["sequence"] = sequence
    if text is not None:
        out["text"] = text
    if patient_instruction is not None:
        out["patientInstruction"] = patient_instruction
    repeat: Json = {}
    for key, value in (
        ("frequency", frequency),
        ("frequencyMax", frequency_max),
        ("period", period),
        ("periodMax", period_max),
        ("periodUnit", period_unit),
    ):
        if value is not None:
            repeat[key] = value
    if time_of_day:
        repeat["timeOfDay"] = list(time_of_day)
    if when:
        repeat["when"] = list(when)
    if repeat:
        out["timing"] = {"repeat": repeat}
    if as_needed is not None:
        out["asNeededBoolean"] = as_needed
    if route is not None:
        out["route"] = route
    amount: Json = {}
    if dose is not None:
        amount["doseQuantity"] = dose
    if dose_range is not None:
        amount["doseRange"] = {"low": dose_range[0], "high": dose_range[1]}
    if rate is not None:
        amount["rateQuantity"] = rate
    if rate_ratio is not None:
        amount["rateRatio"] = {"numerator": rate_ratio[0], "denominator": rate_ratio[1]}
    if amount:
        if stu3:
            out.update(amount)
        else:
            out["doseAndRate"] = [amount]
    if max_per_period is not None:
        out["maxDosePerPeriod"] = {"numerator": max_per_period[0], "denominator": max_per_period[1]}
    return out


def request(
    med: Med,
    *dosages: Json,
    text: str | None = None,
    id: str | None = None,  # noqa: A002 - the FHIR element is called id
    status: str | None = "active",
    intent: str | None = "order",
    dispense: tuple[Json, float] | None = None,
    based_on: Iterable[str] = (),
    prior: str | None = None,
    authored_on: str | None = "2026-10-01",
) -> Json:
    """A MedicationRequest. ``text`` adds a text-only Dosage; ``dispense`` is (quantity,
    expected supply in days)."""
    resource: Json = {"resourceType": "MedicationRequest"}
    if id is not None:
        resource["id"] = id
    if status is not None:
        resource["status"] = status
    if intent is not None:
        resource["intent"] = intent
    resource["medicationCodeableConcept"] = concept(med)
    if authored_on is not None:
        resource["authoredOn"] = authored_on
    lines = list(dosages) + ([{"text": text}] if text is not None else [])
    if lines:
        resource["dosageInstruction"] = lines
    if dispense is not None:
        resource["dispenseRequest"] = {
            "quantity": dispense[0],
            "expectedSupplyDuration": days(dispense[1]),
        }
    refs = [{"reference": ref} for ref in based_on]
    if refs:
        resource["basedOn"] = refs
    if prior is not None:
        resource["priorPrescription"] = {"reference": prior}
    return resource


def statement(
    med: Med,
    *dosages: Json,
    text: str | None = None,
    id: str | None = None,  # noqa: A002 - the FHIR element is called id
    status: str | None = "active",
    start: str | None = "2026-10-01",
    end: str | None = None,
    based_on: Iterable[str] = (),
) -> Json:
    """A MedicationStatement (its dosage element is ``dosage``)."""
    resource: Json = {"resourceType": "MedicationStatement"}
    if id is not None:
        resource["id"] = id
    if status is not None:
        resource["status"] = status
    resource["medicationCodeableConcept"] = concept(med)
    period = {k: v for k, v in (("start", start), ("end", end)) if v is not None}
    if period:
        resource["effectivePeriod"] = period
    lines = list(dosages) + ([{"text": text}] if text is not None else [])
    if lines:
        resource["dosage"] = lines
    refs = [{"reference": ref} for ref in based_on]
    if refs:
        resource["basedOn"] = refs
    return resource


def bundle(*resources: Json, bundle_type: str | None = "collection") -> Json:
    out: Json = {"resourceType": "Bundle", "entry": [{"resource": r} for r in resources]}
    if bundle_type is not None:
        out["type"] = bundle_type
    return out


# -- assessing -------------------------------------------------------------------------------
@functools.cache
def dictionary() -> MedicinesDictionary:
    return MedicinesDictionary.load(RULES)


@functools.cache
def factors() -> FactorTable:
    return FactorTable.load(RULES)


def assess_resource(resource: Json, profile: str = UK, path: str = "medications") -> MedicationOme:
    """Read, identify and convert one medication resource, as the engine does."""
    record = read_medication_record(resource, path, {})
    identification = identify(record.medication, dictionary())
    return assess(record, identification, factors(), factors().profile(profile))


def regimen(
    history: Iterable[Json],
    proposed: Iterable[Json] = (),
    *,
    today: date = TODAY,
    profile: str = UK,
) -> Regimen:
    """The regimen the engine builds from these resources."""
    return build_regimen(
        [assess_resource(r, profile, f"proposed[{i}]") for i, r in enumerate(proposed)],
        [assess_resource(r, profile, f"history[{i}]") for i, r in enumerate(history)],
        today,
    )
