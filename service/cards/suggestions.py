"""Suggestion kinds a rule file may name, and how each becomes CDS Hooks actions.

Each builder returns zero or more suggestions; zero when it does not apply to this record
(there is no draft sedative to delete, say). Actions follow the spec: ``create`` carries a
new resource, ``update`` the whole resource, ``delete`` a ``resourceId``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from service.cards.naloxone import NaloxoneOrder
from service.fhir.patient_record import PatientRecord
from service.hooks import MEDICATION_REFILL
from service.medicines.model import IngredientClass
from service.ome.calculate import MedicationOme
from service.ome.regimen import Regimen


@dataclass(frozen=True, slots=True)
class SuggestionDraft:
    """A suggestion before uuids: its label and actions (type, description, resource/id)."""

    label: str
    actions: tuple[dict[str, Any], ...]
    is_recommended: bool = False


@dataclass(frozen=True, slots=True)
class SuggestionInput:
    record: PatientRecord
    regimen: Regimen
    patient_id: str | None
    #: The first step of a taper as actions on the draft order (from the tapering planner).
    taper_actions: tuple[dict[str, Any], ...] = ()
    #: The take-home naloxone order for the deployment's profile (rules/naloxone_supply.yaml).
    naloxone_order: NaloxoneOrder | None = None


Builder = Callable[[SuggestionInput], list[SuggestionDraft]]


def _refer_pain_pharmacist(s: SuggestionInput) -> list[SuggestionDraft]:
    referral: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": "proposal",
        "code": {"text": "Referral to practice or PCN pharmacist for a structured opioid review"},
        "reasonCode": [{"text": "High-dose or long-term opioid prescribing"}],
    }
    if s.patient_id:
        referral["subject"] = {"reference": f"Patient/{s.patient_id}"}
    return [
        SuggestionDraft(
            label="Refer to the practice or PCN pharmacist for an opioid review",
            actions=(
                {
                    "type": "create",
                    "description": "Create a referral for an opioid review",
                    "resource": referral,
                },
            ),
        )
    ]


def _delete_drafts(ingredient_classes: tuple[IngredientClass, ...], what: str) -> Builder:
    def build(s: SuggestionInput) -> list[SuggestionDraft]:
        out = []
        for item in s.regimen.proposed:
            ref = item.record.reference
            if (
                ref is None
                or not _in(item, ingredient_classes)
                or s.record.hook == MEDICATION_REFILL
            ):
                continue
            out.append(
                SuggestionDraft(
                    label=f"Cancel the new {what}: {item.label}",
                    actions=(
                        {
                            "type": "delete",
                            "description": f"Remove the draft {item.label}",
                            "resourceId": ref,
                        },
                    ),
                )
            )
        return out

    return build


def _taper_first_step(s: SuggestionInput) -> list[SuggestionDraft]:
    if not s.taper_actions:
        return []
    return [
        SuggestionDraft(
            label="Start the taper: prescribe the first reduced dose instead",
            actions=s.taper_actions,
            is_recommended=True,
        )
    ]


def _order_naloxone(s: SuggestionInput) -> list[SuggestionDraft]:
    if s.naloxone_order is None:
        return []
    return [
        SuggestionDraft(
            label="Order naloxone to take home",
            actions=(
                {
                    "type": "create",
                    "description": "Create a draft order for take-home naloxone",
                    "resource": s.naloxone_order.medication_request(s.patient_id),
                },
            ),
        )
    ]


def _in(item: MedicationOme, classes: tuple[IngredientClass, ...]) -> bool:
    return item.product is not None and any(item.product.has_class(c) for c in classes)


#: In the order a combined card offers them, the safest first (issue 11): not starting the
#: new medicine, then reducing what is taken, then a review.
BUILDERS: dict[str, Builder] = {
    "delete-draft-sedative": _delete_drafts(
        (IngredientClass.BENZODIAZEPINE, IngredientClass.Z_DRUG), "benzodiazepine or Z-drug"
    ),
    "delete-draft-gabapentinoid": _delete_drafts((IngredientClass.GABAPENTINOID,), "gabapentinoid"),
    "delete-draft-opioid": _delete_drafts((IngredientClass.OPIOID,), "opioid"),
    "taper-first-step": _taper_first_step,
    "order-naloxone": _order_naloxone,
    "refer-pain-pharmacist": _refer_pain_pharmacist,
}
SAFEST_FIRST = tuple(BUILDERS)
SUGGESTION_KINDS = frozenset(BUILDERS)
