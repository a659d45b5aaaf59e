"""Turn a scenario (a clinical vignette in YAML) into a real CDS Hooks request.

A scenario names products as dm+d names ("Oxycodone 20mg modified-release tablets"); the
builder codes them with their dm+d id from the project's dictionary, so vignettes read as a
clinician writes them and still exercise code-based identification. ``text_only: true``
sends the name without a code; ``code`` overrides.

A medicine (under ``current`` or ``proposed``) may say:

- ``product`` (required), ``id``, ``status``, ``intent``, ``start`` (authoredOn, or the
  statement's effectivePeriod.start), ``end`` (a MedicationStatement's effectivePeriod.end);
- ``resource: MedicationStatement`` (current medicines only; sent under the
  ``medicationStatements`` prefetch key, as GP systems send them);
- ``sig`` (Dosage.text), ``patient_instruction``, ``dose`` (a structured dose:
  ``value``, ``unit``, ``frequency``, ``period``, ``periodUnit``, ``as_needed``,
  ``time_of_day`` (a list of "08:00:00" times — quote them in YAML), ``when``);
- ``dosages``: a list of dosages, each with ``sequence`` and any of ``sig``,
  ``patient_instruction``, ``dose`` — a structured weaning sequence;
- ``quantity`` and ``supply_days`` (dispenseRequest), ``prior`` (priorPrescription) and
  ``based_on`` (basedOn), both as MedicationRequest ids; ``discharge: true`` (category
  discharge) and ``category`` (a list of other category codes, e.g. ``[inpatient]``);
  ``this_admission: true`` (the order belongs to the admission being discharged).

A scenario may say ``hook``, ``today``, ``current``, ``proposed``, ``conditions`` (each
``snomed`` or ``icd10``, ``text``, ``display``, ``status``), ``sex``, ``born``, ``admitted``
(the start of the admission, for encounter-discharge; default 2026-11-15) and
``omit_prefetch``. ``hook: patient-view`` sends the current medicines only (chart-open
review). ``settings`` (read by tests/scenarios/test_scenarios.py) are deployment settings
for that vignette, e.g. ``{enabled_rules: [naloxone]}`` or ``{ome_profile: us-cdc-2022}``.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from service.medicines.dictionary import MedicinesDictionary

DMD = "https://dmd.nhs.uk"
ICD_10 = "http://hl7.org/fhir/sid/icd-10"
CATEGORY = "http://terminology.hl7.org/CodeSystem/medicationrequest-category"
ADMISSION = "scenario-admission"


def _dosage(spec: dict[str, Any]) -> dict[str, Any]:
    """One FHIR R4 Dosage from a scenario's ``sig`` / ``patient_instruction`` / ``dose``."""
    dosage: dict[str, Any] = {}
    if "sequence" in spec:
        dosage["sequence"] = spec["sequence"]
    if "sig" in spec:
        dosage["text"] = spec["sig"]
    if "patient_instruction" in spec:
        dosage["patientInstruction"] = spec["patient_instruction"]
    if "dose" in spec:
        d = spec["dose"]
        quantity = {"value": d["value"], "unit": d.get("unit", "tablet")}
        dosage["doseAndRate"] = [{"doseQuantity": quantity}]
        repeat: dict[str, Any] = {k: d[k] for k in ("frequency", "period", "periodUnit") if k in d}
        if "time_of_day" in d:
            repeat["timeOfDay"] = [str(t) for t in d["time_of_day"]]
        if "when" in d:
            repeat["when"] = list(d["when"])
        dosage["timing"] = {"repeat": repeat}
        if d.get("as_needed"):
            dosage["asNeededBoolean"] = True
    return dosage


def medication_request(
    med: dict[str, Any], index: int, *, role: str, dictionary: MedicinesDictionary, today: date
) -> dict[str, Any]:
    name = med["product"]
    rid = med.get("id", f"{role}-{index}")
    concept: dict[str, Any] = {"text": name}
    if not med.get("text_only"):
        code = med.get("code")
        if code is None:
            product = dictionary.by_name(name)
            assert product is not None and product.system == "dmd", (
                f"no dm+d product named {name!r}"
            )
            code = product.code
        concept["coding"] = [{"system": DMD, "code": str(code), "display": name}]
    resource: dict[str, Any] = {
        "resourceType": med.get("resource", "MedicationRequest"),
        "id": rid,
        "status": med.get("status", "draft" if role == "proposed" else "active"),
        "subject": {"reference": "Patient/scenario-patient"},
        "medicationCodeableConcept": concept,
    }
    default_start = today if role == "proposed" else "2026-01-05"
    if resource["resourceType"] == "MedicationRequest":
        resource["intent"] = med.get("intent", "order")
        resource["authoredOn"] = str(med.get("start", default_start))
    else:
        period = {"start": str(med.get("start", "2026-01-05"))}
        if "end" in med:
            period["end"] = str(med["end"])
        resource["effectivePeriod"] = period
    dosages = [_dosage(d) for d in med.get("dosages", [])] or [_dosage(med)]
    dosages = [d for d in dosages if d]
    if dosages:
        key = "dosageInstruction" if resource["resourceType"] == "MedicationRequest" else "dosage"
        resource[key] = dosages
    if "supply_days" in med or "quantity" in med:
        resource["dispenseRequest"] = {}
        if "quantity" in med:
            resource["dispenseRequest"]["quantity"] = {"value": med["quantity"], "unit": "tablet"}
        if "supply_days" in med:
            resource["dispenseRequest"]["expectedSupplyDuration"] = {
                "value": med["supply_days"],
                "unit": "days",
                "system": "http://unitsofmeasure.org",
                "code": "d",
            }
    if "prior" in med:
        resource["priorPrescription"] = {"reference": f"MedicationRequest/{med['prior']}"}
    if "based_on" in med:
        targets = med["based_on"] if isinstance(med["based_on"], list) else [med["based_on"]]
        resource["basedOn"] = [{"reference": f"MedicationRequest/{t}"} for t in targets]
    categories = list(med.get("category", [])) + (["discharge"] if med.get("discharge") else [])
    if categories:
        resource["category"] = [{"coding": [{"system": CATEGORY, "code": c}]} for c in categories]
    if med.get("this_admission"):
        resource["encounter"] = {"reference": f"Encounter/{ADMISSION}"}
    return resource


def _condition(c: dict[str, Any], index: int) -> dict[str, Any]:
    """A Condition from a scenario's ``snomed`` or ``icd10`` code (its display is ``text``
    unless ``display`` says otherwise), ``text`` (code.text) and ``status``. A code given
    without ``text`` is sent code-only, as some systems send it."""
    codings = [
        {
            "system": system,
            "code": str(c[key]),
            **({"display": c.get("display", c["text"])} if "text" in c or "display" in c else {}),
        }
        for key, system in (("snomed", "http://snomed.info/sct"), ("icd10", ICD_10))
        if key in c
    ]
    code: dict[str, Any] = {"coding": codings} if codings else {}
    if "text" in c:
        code["text"] = c["text"]
    return {
        "resourceType": "Condition",
        "id": f"condition-{index}",
        "clinicalStatus": {"coding": [{"code": c.get("status", "active")}]},
        "code": code,
    }


def hook_request(
    scenario: dict[str, Any], dictionary: MedicinesDictionary
) -> tuple[str, dict[str, Any]]:
    """(service id, request body) for a scenario."""
    hook = scenario.get("hook", "order-sign")
    today = scenario.get("today", date(2026, 11, 22))
    proposed = [
        medication_request(m, i, role="proposed", dictionary=dictionary, today=today)
        for i, m in enumerate(scenario.get("proposed", []))
    ]
    current = [
        medication_request(m, i, role="current", dictionary=dictionary, today=today)
        for i, m in enumerate(scenario.get("current", []))
    ]
    requests = [r for r in current if r["resourceType"] != "MedicationStatement"]
    statements = [r for r in current if r["resourceType"] == "MedicationStatement"]
    conditions = [_condition(c, i) for i, c in enumerate(scenario.get("conditions", []))]
    prefetch: dict[str, Any] = {
        "patient": {
            "resourceType": "Patient",
            "id": "scenario-patient",
            "gender": scenario.get("sex", "male"),
            "birthDate": str(scenario.get("born", "1960-01-01")),
        },
        "medicationRequests": _bundle(requests) if requests else None,
        "conditions": _bundle(conditions) if conditions else None,
    }
    if statements:
        prefetch["medicationStatements"] = _bundle(statements)
    context: dict[str, Any] = {
        "userId": "Practitioner/scenario-gp",
        "patientId": "scenario-patient",
    }
    service = "opioid-safety"
    if hook == "encounter-discharge":
        service = "opioid-discharge"
        context["encounterId"] = ADMISSION
        prefetch["dischargeMedications"] = _bundle(proposed)
        prefetch["encounter"] = {
            "resourceType": "Encounter",
            "id": ADMISSION,
            "status": "in-progress",
            "class": {"code": "IMP"},
            "period": {"start": str(scenario.get("admitted", "2026-11-15"))},
        }
    elif hook == "patient-view":
        # Chart-open review: nothing proposed, the current medicines only.
        service = "opioid-review"
    elif hook == "medication-refill":
        context["medications"] = _bundle(proposed, "collection")
    else:
        context["draftOrders"] = _bundle(proposed, "collection")
        if hook == "order-select":
            context["selections"] = [f"MedicationRequest/{r['id']}" for r in proposed]
    for key in scenario.get("omit_prefetch", []):
        prefetch.pop(key, None)
    if scenario.get("paginated") and prefetch.get("medicationRequests"):
        # The client sent the first page of a search with more to come.
        prefetch["medicationRequests"]["link"] = [
            {"relation": "next", "url": "https://gp.example/fhir/MedicationRequest?page=2"}
        ]
    body = {
        "hook": hook,
        "hookInstance": str(uuid.uuid5(uuid.NAMESPACE_URL, scenario["name"])),
        "context": context,
        "prefetch": prefetch,
    }
    return service, body


def _bundle(resources: list[dict[str, Any]], kind: str = "searchset") -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": [{"resource": r} for r in resources]}
