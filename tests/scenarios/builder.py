"""Turn a scenario (a clinical vignette in YAML) into a real CDS Hooks request.

A scenario names products as dm+d names ("Oxycodone 20mg modified-release tablets"); the
builder codes them with their dm+d id from the project's dictionary, so vignettes read as a
clinician writes them and still exercise code-based identification. ``text_only: true``
sends the name without a code; ``code`` overrides.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from service.medicines.dictionary import MedicinesDictionary

DMD = "https://dmd.nhs.uk"


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
    if resource["resourceType"] == "MedicationRequest":
        resource["intent"] = med.get("intent", "order")
        resource["authoredOn"] = str(
            med.get("start", today if role == "proposed" else "2026-01-05")
        )
    else:
        resource["effectivePeriod"] = {"start": str(med.get("start", "2026-01-05"))}
    dosage: dict[str, Any] = {}
    if "sig" in med:
        dosage["text"] = med["sig"]
    if "dose" in med:
        d = med["dose"]
        dosage["doseAndRate"] = [
            {"doseQuantity": {"value": d["value"], "unit": d.get("unit", "tablet")}}
        ]
        dosage["timing"] = {
            "repeat": {k: d[k] for k in ("frequency", "period", "periodUnit") if k in d}
        }
        if d.get("as_needed"):
            dosage["asNeededBoolean"] = True
    if dosage:
        resource["dosageInstruction"] = [dosage]
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
    if med.get("discharge"):
        resource["category"] = [{"coding": [{"code": "discharge"}]}]
    return resource


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
    conditions = [
        {
            "resourceType": "Condition",
            "id": f"condition-{i}",
            "clinicalStatus": {"coding": [{"code": c.get("status", "active")}]},
            "code": {
                **(
                    {
                        "coding": [
                            {
                                "system": "http://snomed.info/sct",
                                "code": str(c["snomed"]),
                                "display": c.get("text", ""),
                            }
                        ]
                    }
                    if "snomed" in c
                    else {}
                ),
                "text": c.get("text", ""),
            },
        }
        for i, c in enumerate(scenario.get("conditions", []))
    ]
    prefetch: dict[str, Any] = {
        "patient": {
            "resourceType": "Patient",
            "id": "scenario-patient",
            "gender": scenario.get("sex", "male"),
            "birthDate": scenario.get("born", "1960-01-01"),
        },
        "medicationRequests": _bundle(current) if current else None,
        "conditions": _bundle(conditions) if conditions else None,
    }
    for key in scenario.get("omit_prefetch", []):
        prefetch.pop(key, None)
    context: dict[str, Any] = {
        "userId": "Practitioner/scenario-gp",
        "patientId": "scenario-patient",
    }
    service = "opioid-safety"
    if hook == "encounter-discharge":
        service = "opioid-discharge"
        context["encounterId"] = "scenario-admission"
        prefetch["dischargeMedications"] = _bundle(proposed)
    elif hook == "medication-refill":
        context["medications"] = _bundle(proposed, "collection")
    else:
        context["draftOrders"] = _bundle(proposed, "collection")
        if hook == "order-select":
            context["selections"] = [f"MedicationRequest/{r['id']}" for r in proposed]
    body = {
        "hook": hook,
        "hookInstance": str(uuid.uuid5(uuid.NAMESPACE_URL, scenario["name"])),
        "context": context,
        "prefetch": prefetch,
    }
    return service, body


def _bundle(resources: list[dict[str, Any]], kind: str = "searchset") -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": [{"resource": r} for r in resources]}
