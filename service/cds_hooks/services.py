"""The CDS Services this server offers (discovery) and each hook's context contract.

One service per hook, each with its own id (``SERVICE_FOR_HOOK``), the same behaviour
behind each. [SPEC2] Discovery allows one id under several hooks, but real clients key
services by id — the CDS Hooks sandbox keeps the last entry, so a shared id for three hooks
left the service called for medication-refill only and the prescriber told "All clear!" —
and the spec's own discovery example, the sandbox's captured discovery and the Inferno test
kit all use one id per hook (issue 10).

``opioid-safety``, the shared id of the first release, is a deprecated alias
(``DEPRECATED_ALIASES``): not listed in discovery, still answering the three prescribing
hooks, so integrations configured with it keep working.

Prefetch templates use only the 2.0 token subset: first-level primitive context fields,
type-level searches with reference and token parameters ([SPEC2] Prefetch Template).
"""

from __future__ import annotations

from dataclasses import dataclass

from service.cds_hooks.models import CdsService
from service.hooks import (
    ENCOUNTER_DISCHARGE,
    MEDICATION_REFILL,
    ORDER_SELECT,
    ORDER_SIGN,
    PATIENT_VIEW,
)

PATIENT_READ = "Patient/{{context.patientId}}"
_MEDICATION_PREFETCH = {
    "patient": PATIENT_READ,
    "medicationRequests": "MedicationRequest?patient={{context.patientId}}&status=active",
    "medicationStatements": "MedicationStatement?patient={{context.patientId}}&status=active",
    "conditions": "Condition?patient={{context.patientId}}",
    # Risk stratification: social history (unemployment) and emergency attendances.
    "observations": "Observation?patient={{context.patientId}}&category=social-history",
    "encounters": "Encounter?patient={{context.patientId}}&class=EMER",
}


@dataclass(frozen=True, slots=True)
class HookContract:
    """What a hook's ``context`` must hold ([LIB] v1.0.1), and where its orders are."""

    hook: str
    required: tuple[str, ...]
    orders_field: str | None  # draftOrders / medications; None for encounter-discharge
    string_fields: tuple[str, ...] = ("userId", "patientId", "encounterId")


CONTRACTS: dict[str, HookContract] = {
    c.hook: c
    for c in (
        HookContract(
            ORDER_SELECT, ("userId", "patientId", "selections", "draftOrders"), "draftOrders"
        ),
        HookContract(ORDER_SIGN, ("userId", "patientId", "draftOrders"), "draftOrders"),
        # Hook Library draft: userId optional (refills arrive from pharmacies and portals).
        HookContract(MEDICATION_REFILL, ("patientId", "medications"), "medications"),
        HookContract(ENCOUNTER_DISCHARGE, ("userId", "patientId", "encounterId"), None),
        # [LIB] patient-view 1.0: userId and patientId required, encounterId optional.
        HookContract(PATIENT_VIEW, ("userId", "patientId"), None),
    )
}

#: Prefetch keys from which the current regimen is read: at least one must be obtainable.
MEDICATION_HISTORY_KEYS = ("medicationRequests", "medicationStatements")
#: Discharge: the orders being checked are the encounter's medication requests.
DISCHARGE_ORDERS_KEY = "dischargeMedications"

_PRESCRIBING_DESCRIPTION = (
    "Opioid prescribing safety. Computes the patient's total daily oral morphine equivalent "
    "(OME) across the proposed prescription and current medicines and prompts when the dose "
    "is high or escalating, when an opioid is co-prescribed with a gabapentinoid or a "
    "benzodiazepine/Z-drug, and, at re-authorisation, offers a tapering plan and alternatives."
)
_USAGE = (
    "Send the patient's active MedicationRequests and MedicationStatements (prefetch "
    "medicationRequests / medicationStatements); without them the service answers 412. "
    "Conditions are used to recognise cancer and palliative care; when absent the cards say "
    "so. Medicines may be coded with dm+d (https://dmd.nhs.uk or http://snomed.info/sct) or "
    "RxNorm, or named in text."
)

_PRESCRIBING_HOOKS = (
    (ORDER_SELECT, "Opioid safety: prescribing"),
    (ORDER_SIGN, "Opioid safety: signing and re-authorisation"),
    (MEDICATION_REFILL, "Opioid safety: repeat re-authorisation"),
)

#: The service id for each hook (discovery lists exactly these).
SERVICE_FOR_HOOK: dict[str, str] = {
    ORDER_SELECT: "opioid-safety-select",
    ORDER_SIGN: "opioid-safety-sign",
    MEDICATION_REFILL: "opioid-safety-refill",
    ENCOUNTER_DISCHARGE: "opioid-discharge",
    PATIENT_VIEW: "opioid-review",
}
#: Ids that still answer calls but are not listed in discovery, with the hooks they serve.
DEPRECATED_ALIASES: dict[str, frozenset[str]] = {
    "opioid-safety": frozenset(hook for hook, _ in _PRESCRIBING_HOOKS),
}

SERVICES: tuple[CdsService, ...] = (
    *(
        CdsService(
            hook=hook,
            id=SERVICE_FOR_HOOK[hook],
            title=title,
            description=_PRESCRIBING_DESCRIPTION,
            prefetch=dict(_MEDICATION_PREFETCH),
            usage_requirements=_USAGE,
        )
        for hook, title in _PRESCRIBING_HOOKS
    ),
    CdsService(
        hook=ENCOUNTER_DISCHARGE,
        id=SERVICE_FOR_HOOK[ENCOUNTER_DISCHARGE],
        title="Opioid safety: hospital discharge",
        description=(
            "Checks discharge prescriptions: opioid supply longer than the local maximum, "
            "modified-release opioids started for acute pain, and that a weaning plan is "
            "recorded and sent to the GP."
        ),
        prefetch={
            **_MEDICATION_PREFETCH,
            "encounter": "Encounter/{{context.encounterId}}",
            DISCHARGE_ORDERS_KEY: "MedicationRequest?patient={{context.patientId}}"
            "&encounter={{context.encounterId}}",
        },
        usage_requirements="Send the encounter's MedicationRequests (prefetch "
        "dischargeMedications) and the encounter; without the medicines the service answers "
        "412.",
    ),
    CdsService(
        hook=PATIENT_VIEW,
        id=SERVICE_FOR_HOOK[PATIENT_VIEW],
        title="Opioid safety: review at chart open",
        description=(
            "When a record is opened, a gentle information prompt to review an existing "
            "high-risk opioid regimen (a high total dose, an opioid with a benzodiazepine or "
            "Z-drug or with a gabapentinoid): the prescribing findings, worded for review. "
            "Never for cancer or palliative care; at most once per patient per period."
        ),
        prefetch=dict(_MEDICATION_PREFETCH),
        usage_requirements=_USAGE,
    ),
)

#: Every id that answers calls (listed or alias), with the hooks it serves.
SERVICE_HOOKS: dict[str, frozenset[str]] = {**DEPRECATED_ALIASES}
for _s in SERVICES:
    SERVICE_HOOKS[_s.id] = SERVICE_HOOKS.get(_s.id, frozenset()) | {_s.hook}

#: The prefetch templates of the service listed for each hook (also used by its aliases).
PREFETCH_FOR_HOOK: dict[str, dict[str, str]] = {s.hook: dict(s.prefetch or {}) for s in SERVICES}


def same_service(service_id: str) -> frozenset[str]:
    """The ids that name the same service for feedback: an id, and a deprecated alias that
    answers one of its hooks (a card issued through ``opioid-safety`` may get its feedback
    at ``opioid-safety-sign``, and the other way round)."""
    hooks = SERVICE_HOOKS.get(service_id, frozenset())
    return frozenset(
        {service_id, *(other for other, served in SERVICE_HOOKS.items() if served & hooks)}
    )
