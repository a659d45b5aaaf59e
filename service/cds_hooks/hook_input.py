"""From a validated ``HookRequest`` to the engine's ``PatientRecord``.

Prefetch semantics ([SPEC2] Prefetch): a key that is **missing** was not satisfied; a key
that is **null** was satisfied and there is no data; a key holding an **OperationOutcome**
is a client-side error. Required data that is missing or in error, with no way to fetch it,
is a 412 ("the CDS Service SHALL respond with HTTP 412 Precondition Failed").

What is required depends on what is proposed: the current medicines matter only when a
proposed medicine is in scope (an opioid, gabapentinoid, benzodiazepine or Z-drug), which
the engine decides after identifying it; so this module records *why* the history is
unavailable and the engine raises the 412. Discharge checks need the discharge medicines
and fail here. Optional data that is missing is recorded in ``not_checked`` so the cards
can say what they could not check.

Prefetch key names are the service's own, but clients reuse their own names (the sandbox
sends ``meds``), so medication resources are read by resource type from every key.
"""

from __future__ import annotations

from typing import Any

from service.cds_hooks.models import HookRequest
from service.cds_hooks.services import (
    CONTRACTS,
    DISCHARGE_ORDERS_KEY,
    MEDICATION_HISTORY_KEYS,
    SERVICE_HOOKS,
)
from service.errors import HookRequestError, PrefetchUnavailable, UnknownServiceError
from service.fhir.bundle import Located, resources
from service.fhir.clinical_records import read_clinical, read_encounter
from service.fhir.medication_record import (
    MEDICATION_RESOURCE_TYPES,
    MedicationRecord,
    read_medication_record,
)
from service.fhir.patient_record import PatientRecord
from service.fhir.read import JsonObject, obj

_OPTIONAL_DATA = {
    "conditions": "conditions (cancer, palliative care) were not available",
    "patient": "the patient's age and sex were not available",
    "encounter": "the encounter was not available",
}


def check_service(service_id: str) -> frozenset[str]:
    """The hooks the service serves; 404 for an unknown id."""
    hooks = SERVICE_HOOKS.get(service_id)
    if hooks is None:
        raise UnknownServiceError(f"no CDS Service with id {service_id!r}", "path")
    return hooks


def check_service_and_hook(service_id: str, hook: str) -> None:
    hooks = check_service(service_id)
    if hook not in hooks:
        raise HookRequestError(
            f"service {service_id!r} does not serve hook {hook!r}; it serves "
            + ", ".join(sorted(hooks)),
            "hook",
        )


def read_hook_input(service_id: str, request: HookRequest) -> PatientRecord:
    check_service_and_hook(service_id, request.hook)
    contract = CONTRACTS[request.hook]
    context = request.context
    for name in contract.required:
        if context.get(name) in (None, "", [], {}):
            raise HookRequestError(
                f"hook {request.hook} requires context.{name}", f"context.{name}"
            )
    for name in contract.string_fields:
        if name in context and not isinstance(context[name], str):
            raise HookRequestError("expected a string", f"context.{name}")
    selections = _selections(context)
    prefetch = request.prefetch or {}

    # Every Medication resource sent anywhere, for resolving medicationReference.
    located_orders: list[Located] = []
    if contract.orders_field is not None:
        located_orders, outcomes = resources(
            context[contract.orders_field], f"context.{contract.orders_field}"
        )
        if outcomes:
            raise HookRequestError("orders contain an OperationOutcome", outcomes[0].path)
    prefetched: dict[str, list[Located]] = {}
    in_error: set[str] = set()
    for key, value in prefetch.items():
        found, outcomes = resources(value, f"prefetch.{key}")
        prefetched[key] = found
        if outcomes and not found:
            in_error.add(key)
    medications = _medication_index(located_orders, prefetched)

    def obtainable(key: str) -> bool:
        return key in prefetch and key not in in_error

    history_keys = [k for k in prefetched if k != DISCHARGE_ORDERS_KEY]
    history_available = any(obtainable(k) for k in MEDICATION_HISTORY_KEYS) or any(
        x.resource.get("resourceType") in MEDICATION_RESOURCE_TYPES
        for k in history_keys
        for x in prefetched[k]
    )

    if contract.orders_field is not None:
        # order-select fires on every change, first with no medicine chosen: an order that
        # names no medicine yet is incomplete, not unresolved, and is not assessed.
        proposed = tuple(
            r for r in _medication_records(located_orders, medications) if r.medication is not None
        )
    else:
        if not obtainable(DISCHARGE_ORDERS_KEY):
            raise PrefetchUnavailable(
                _unavailable_message(request, (DISCHARGE_ORDERS_KEY,)), "prefetch"
            )
        proposed = _medication_records(prefetched[DISCHARGE_ORDERS_KEY], medications)
    seen: set[str] = set()
    history_records = []
    for key in history_keys:
        for record in _medication_records(prefetched[key], medications):
            ref = record.reference
            # A re-signed order is also in the history: keep that copy as the current item
            # (the regimen replaces it by reference), so the "before" total is right.
            if ref is not None and ref in seen:
                continue  # the same resource sent under two keys is one medicine
            if ref is not None:
                seen.add(ref)
            history_records.append(record)
    history = tuple(history_records)
    clinical = read_clinical(x for found in prefetched.values() for x in found)
    encounter = clinical.encounter(context.get("encounterId")) or next(
        (
            read_encounter(x.resource, x.path)
            for x in prefetched.get("encounter", [])
            if x.resource.get("resourceType") == "Encounter"
        ),
        None,
    )
    available = frozenset(k for k in prefetch if obtainable(k)) | clinical.present
    not_checked = [
        text for key, text in _OPTIONAL_DATA.items() if key != "encounter" and key not in available
    ]
    if request.hook == "encounter-discharge" and encounter is None:
        not_checked.append(_OPTIONAL_DATA["encounter"])
    if any(_has_next_page(prefetch[k]) for k in history_keys):
        not_checked.append("the medicines list was paginated and only its first page was read")
    return PatientRecord(
        hook=request.hook,
        patient_id=context.get("patientId"),
        proposed=proposed,
        history=history,
        patient=clinical.patient,
        conditions=clinical.conditions,
        observations=clinical.observations,
        encounter=encounter,
        encounters=clinical.encounters,
        selections=selections,
        not_checked=tuple(not_checked),
        available=available,
        history_unavailable=None
        if history_available
        else _unavailable_message(request, MEDICATION_HISTORY_KEYS),
    )


def _has_next_page(value: Any) -> bool:
    return isinstance(value, dict) and any(
        isinstance(link, dict) and link.get("relation") == "next"
        for link in value.get("link") or ()
    )


def _selections(context: dict[str, Any]) -> tuple[str, ...]:
    value = context.get("selections")
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise HookRequestError("expected an array of 'Type/id' strings", "context.selections")
    return tuple(value)


def _medication_index(
    orders: list[Located], prefetched: dict[str, list[Located]]
) -> dict[str, JsonObject]:
    index: dict[str, JsonObject] = {}
    for located in [*orders, *(x for found in prefetched.values() for x in found)]:
        r = located.resource
        if r.get("resourceType") == "Medication" and isinstance(r.get("id"), str):
            index[f"Medication/{r['id']}"] = r
    return index


def _medication_records(
    located: list[Located], medications: dict[str, JsonObject]
) -> tuple[MedicationRecord, ...]:
    return tuple(
        read_medication_record(obj(x.resource, x.path), x.path, medications)
        for x in located
        if x.resource.get("resourceType") in MEDICATION_RESOURCE_TYPES
    )


def _unavailable_message(request: HookRequest, keys: tuple[str, ...]) -> str:
    names = " or ".join(f"prefetch.{k}" for k in keys)
    if request.fhir_server is not None and request.fhir_authorization is not None:
        return (
            f"{names} was not sent, and this version does not yet fetch from fhirServer; "
            "send the prefetch"
        )
    return (
        f"{names} was not sent (or holds an OperationOutcome) and no fhirServer access was "
        "given, so the current medicines are unknown"
    )
