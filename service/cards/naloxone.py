"""The "order naloxone" suggestion (issue 17): a draft MedicationRequest for take-home
naloxone, from ``rules/naloxone_supply.yaml`` for the deployment's OME profile."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service.rulefiles import Sources, StrictModel, read_yaml

SUPPLY_FILE = "naloxone_supply.yaml"


class _Coding(StrictModel):
    system: str
    code: str
    display: str


class NaloxoneOrder(StrictModel):
    text: str
    coding: tuple[_Coding, ...] = ()
    dosage: str
    source: str

    def medication_request(self, patient_id: str | None) -> dict[str, Any]:
        """A valid FHIR R4 MedicationRequest (status, intent, medication[x] and subject are
        its required elements; subject only when the patient is known)."""
        concept: dict[str, Any] = {"text": self.text}
        if self.coding:
            concept["coding"] = [c.model_dump() for c in self.coding]
        resource: dict[str, Any] = {
            "resourceType": "MedicationRequest",
            "status": "draft",
            "intent": "proposal",
            "medicationCodeableConcept": concept,
            "dosageInstruction": [{"text": self.dosage}],
            "reasonCode": [{"text": "Take-home naloxone: raised risk of opioid overdose"}],
        }
        if patient_id:
            resource["subject"] = {"reference": f"Patient/{patient_id}"}
        return resource


class _SupplyFile(StrictModel):
    orders: dict[str, NaloxoneOrder]


def load_naloxone_order(rules_dir: Path, sources: Sources, profile: str) -> NaloxoneOrder | None:
    """The order for the profile; None when the file names none (the suggestion is then not
    offered, and the card still says to consider naloxone)."""
    path = rules_dir / SUPPLY_FILE
    orders = read_yaml(path, _SupplyFile).orders
    for name, order in orders.items():
        sources.check(order.source, str(path), f"orders.{name}.source")
    return orders.get(profile)
