"""The request bodies every benchmark sends (issue 14): fixed, named, never random.

- ``TYPICAL``: a GP order-sign — one draft opioid and ten history medicines (opioids, a
  gabapentinoid, a benzodiazepine, non-opioids), half with structured dosage
  (``timing.repeat`` and ``doseAndRate``), half free text only, and three conditions.
- ``HEAVY``: the same draft against a hundred history records shaped as GP Connect sends
  them (real-world-data.md §2): per medicine a MedicationStatement, its authorisation
  (MedicationRequest intent=plan) and one MedicationRequest intent=order per issue
  ``basedOn`` the authorisation — so most records are duplicates of a counted medicine.

Used by the in-process benchmarks (``test_order_sign.py``) and the HTTP benchmark
(``http_bench.py``), so both measure the same requests.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

DMD = "https://dmd.nhs.uk"
SNOMED = "http://snomed.info/sct"

#: (code, name, free-text sig, structured (times per day, units per time) or None, status)
_TYPICAL_HISTORY: tuple[tuple[str, str, str, tuple[int, int] | None, str], ...] = (
    ("36127311000001102", "Morphine 30mg modified-release tablets", "one twice a day", (2, 1),
     "active"),
    ("42009811000001101", "Co-codamol 30mg/500mg tablets",
     "1 or 2 every 4-6 hours when required, max 8 in 24 hours", None, "active"),
    ("42135711000001109", "Pregabalin 75mg capsules", "one twice a day", (2, 1), "active"),
    ("42128311000001104", "Diazepam 5mg tablets", "one at night", None, "active"),
    ("39113611000001102", "Amlodipine 5mg tablets", "one daily", (1, 1), "active"),
    ("39109611000001104", "Atorvastatin 20mg tablets", "one at night", None, "active"),
    ("42017811000001106", "Tramadol 50mg capsules", "one four times a day", (4, 1), "stopped"),
    ("36120011000001101", "Fentanyl 25micrograms/hour transdermal patches",
     "apply one patch every 72 hours", None, "active"),
    ("39720311000001101", "Omeprazole 20mg gastro-resistant capsules", "one daily", (1, 1),
     "active"),
    ("42215511000001104", "Paracetamol 500mg tablets", "two four times a day when required",
     None, "active"),
)  # fmt: skip


def _concept(code: str, name: str) -> dict[str, Any]:
    return {"coding": [{"system": DMD, "code": code, "display": name}], "text": name}


def _dosage(sig: str, structured: tuple[int, int] | None) -> dict[str, Any]:
    dosage: dict[str, Any] = {"text": sig}
    if structured is not None:
        per_day, units = structured
        dosage["timing"] = {"repeat": {"frequency": per_day, "period": 1, "periodUnit": "d"}}
        dosage["doseAndRate"] = [{"doseQuantity": {"value": units, "unit": "tablet"}}]
    return dosage


def medication_request(
    rid: str,
    code: str,
    name: str,
    sig: str,
    structured: tuple[int, int] | None = None,
    status: str = "active",
    intent: str = "order",
    based_on: str | None = None,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": status,
        "intent": intent,
        "subject": {"reference": "Patient/p"},
        "authoredOn": "2026-03-01",
        "medicationCodeableConcept": _concept(code, name),
        "dosageInstruction": [_dosage(sig, structured)],
        "dispenseRequest": {
            "quantity": {"value": 56, "unit": "tablet"},
            "expectedSupplyDuration": {"value": 28, "unit": "days", "code": "d"},
        },
    }
    if based_on is not None:
        resource["basedOn"] = [{"reference": based_on}]
    return resource


def _statement(rid: str, code: str, name: str, sig: str, status: str) -> dict[str, Any]:
    return {
        "resourceType": "MedicationStatement",
        "id": rid,
        "status": "active" if status == "active" else "stopped",
        "subject": {"reference": "Patient/p"},
        "effectivePeriod": {"start": "2025-06-01"},
        "medicationCodeableConcept": _concept(code, name),
        "dosage": [{"text": sig}],
    }


DRAFT = medication_request(
    "draft",
    "36130911000001104",
    "Oxycodone 40mg modified-release tablets",
    "one twice a day",
    (2, 1),
    "draft",
)
_CONDITIONS = {
    "resourceType": "Bundle",
    "type": "searchset",
    "entry": [
        {
            "resource": {
                "resourceType": "Condition",
                "id": f"c{i}",
                "clinicalStatus": {"coding": [{"code": "active"}]},
                "code": {"coding": [{"system": SNOMED, "code": c, "display": d}]},
            }
        }
        for i, (c, d) in enumerate(
            [
                ("279039007", "Low back pain"),
                ("35489007", "Depressive disorder"),
                ("38341003", "Hypertension"),
            ]
        )
    ],
}


def _body(requests: list[dict[str, Any]], statements: list[dict[str, Any]]) -> dict[str, Any]:
    def bundle(resources: list[dict[str, Any]]) -> dict[str, Any] | None:
        if not resources:
            return None  # satisfied, no data ([SPEC2] Prefetch)
        return {"resourceType": "Bundle", "type": "searchset", "entry": [
            {"resource": r} for r in resources
        ]}  # fmt: skip

    return {
        "hook": "order-sign",
        "hookInstance": str(uuid.UUID(int=1)),
        "context": {
            "userId": "Practitioner/gp",
            "patientId": "p",
            "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": DRAFT}]},
        },
        "prefetch": {
            "patient": {
                "resourceType": "Patient",
                "id": "p",
                "gender": "female",
                "birthDate": "1958-02-01",
            },
            "medicationRequests": bundle(requests),
            "medicationStatements": bundle(statements),
            "conditions": _CONDITIONS,
        },
    }


TYPICAL: dict[str, Any] = _body(
    [
        medication_request(f"h{i}", code, name, sig, structured, status)
        for i, (code, name, sig, structured, status) in enumerate(_TYPICAL_HISTORY, 1)
    ],
    [],
)


def _gp_connect_history() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Ten medicines, each a statement, an authorisation and eight issues basedOn it: 100
    records, 80 of them issues of a counted authorisation (duplicates)."""
    requests: list[dict[str, Any]] = []
    statements: list[dict[str, Any]] = []
    for i, (code, name, sig, structured, status) in enumerate(_TYPICAL_HISTORY, 1):
        statements.append(_statement(f"ms{i}", code, name, sig, status))
        plan = medication_request(f"plan{i}", code, name, sig, structured, status, "plan")
        requests.append(plan)
        requests += [
            medication_request(
                f"issue{i}-{n}",
                code,
                name,
                sig,
                structured,
                "completed" if n < 7 else status,
                based_on=f"MedicationRequest/plan{i}",
            )
            for n in range(8)
        ]
    return requests, statements


HEAVY: dict[str, Any] = _body(*_gp_connect_history())

BODIES: dict[str, dict[str, Any]] = {"typical": TYPICAL, "heavy": HEAVY}


def raw(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()
