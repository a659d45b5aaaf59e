"""The patient record: the one typed input to the clinical pipeline, and the one function that
builds it from whatever FHIR a caller sent.

Every way in — a CDS Hooks request's context and prefetch, a Bundle, a list of resources,
one resource (``POST /ome``, ``/taper``, ``/support-tier``) — goes through
:func:`read_patient_record`, so the same resources give the same medicines, statuses and
totals everywhere. It resolves ``medicationReference`` (contained, in the Bundle by
``fullUrl`` or ``Medication/id``, anywhere in the request), reads clinical resources by type
(clients name prefetch keys their own way), and reports what it could not read — an
OperationOutcome, a paginated list, data not sent — in ``not_checked`` rather than as
absence.

Prefetch semantics ([SPEC2] Prefetch): a key that is **missing** was not satisfied; a key
that is **null** was satisfied and there is no data; a key holding only an
**OperationOutcome** is a client-side error. Whether missing data is fatal (412) is the
caller's decision: this module records why the medicines are unknown in
``history_unavailable``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from service.errors import HookRequestError
from service.fhir.bundle import Located, resources
from service.fhir.clinical_records import (
    CodedRecord,
    EncounterInfo,
    PatientInfo,
    read_clinical,
    read_encounter,
)
from service.fhir.medication_record import (
    MEDICATION_RESOURCE_TYPES,
    MedicationRecord,
    read_medication_record,
)
from service.fhir.read import JsonObject, obj


@dataclass(frozen=True, slots=True)
class PatientRecord:
    hook: str
    patient_id: str | None
    proposed: tuple[MedicationRecord, ...]
    history: tuple[MedicationRecord, ...]
    patient: PatientInfo | None = None
    conditions: tuple[CodedRecord, ...] = ()
    observations: tuple[CodedRecord, ...] = ()
    encounter: EncounterInfo | None = None
    encounters: tuple[EncounterInfo, ...] = ()
    selections: tuple[str, ...] = ()
    #: Data that was not sent or came back as an error, in words a prescriber can read.
    not_checked: tuple[str, ...] = field(default=())
    #: Why the current medicines are unknown, when they are; the pipeline answers 412 if a
    #: proposed medicine needs them (CDS Hooks 2.0.1: required data unobtainable).
    history_unavailable: str | None = None
    #: Why the medicines list may be missing items although it was obtained (a paginated
    #: list, an OperationOutcome beside the data), when it may.
    history_incomplete: str | None = None
    #: Kinds of data obtained (even if empty): prefetch keys, and "patient", "conditions",
    #: "observations", "encounters" when resources of that type were sent. Decides
    #: "not checked" versus "none".
    available: frozenset[str] = frozenset()
    #: Containers (prefetch keys) that held only an OperationOutcome: the client tried and
    #: failed to get that data. Named in the 412 so the client knows which query failed.
    failed: frozenset[str] = frozenset()
    #: How many resources (not OperationOutcomes) were read from what was sent, orders
    #: included, those about another patient left out.
    resource_count: int = 0


@dataclass(frozen=True, slots=True)
class Sent:
    """One container of FHIR a caller sent — a prefetch value, a Bundle, a list, a single
    resource, or ``None`` (satisfied, no data) — with the name and JSON path it came under."""

    key: str
    value: Any
    path: str


#: Optional data a CDS Hooks call should carry (``expect``), in a prescriber's words.
OPTIONAL_DATA = {
    "conditions": "conditions (cancer, palliative care) were not available",
    "patient": "the patient's age and sex were not available",
}
ENCOUNTER_NOT_AVAILABLE = "the encounter was not available"
PAGINATED = "the medicines list was paginated and only its first page was read"


def read_patient_record(
    hook: str,
    sent: Sequence[Sent],
    *,
    orders: Sent | None = None,
    proposed_key: str | None = None,
    history_keys: Collection[str] | None = None,
    expect: Collection[str] = (),
    patient_id: str | None = None,
    encounter_id: str | None = None,
    selections: tuple[str, ...] = (),
) -> PatientRecord:
    """Build the record from what a caller sent.

    ``orders``: the proposed medicines of a hook's context (draftOrders, medications). An
    order that names no medicine at all is incomplete (order-select fires before one is
    chosen), not proposed. ``proposed_key``: instead, a container of ``sent`` whose
    medication resources are proposed (discharge prescriptions). Every other container's
    medication resources are the patient's medicines; ``history_keys`` names the containers
    that stand for the medicines list (default: all), for ``history_unavailable``.
    ``expect``: keys of ``OPTIONAL_DATA`` to report as not checked when not obtained.
    """
    located_orders: list[Located] = []
    notes: list[str] = []
    if orders is not None:
        located_orders, outcomes = resources(orders.value, orders.path)
        if outcomes:
            raise HookRequestError("orders contain an OperationOutcome", outcomes[0].path)
    found: dict[str, list[Located]] = {}
    obtained: set[str] = set()
    failed: set[str] = set()
    elsewhere = 0
    for part in sent:
        located, outcomes = resources(part.value, part.path)
        if patient_id is not None:
            # A resource about another patient (a client's query gone wrong) is never read
            # as this patient's: left out, and said.
            kept = [x for x in located if not _about_another_patient(x.resource, patient_id)]
            elsewhere += len(located) - len(kept)
            located = kept
        found[part.key] = located
        if outcomes and not located:
            failed.add(part.key)
            continue  # only an error: the client could not get this data
        obtained.add(part.key)
        if outcomes:
            notes.append(f"{outcomes[0].path} is an OperationOutcome: some data may be missing")
    medications = _medication_index([*located_orders, *(x for f in found.values() for x in f)])

    if orders is not None:
        proposed = tuple(
            r for r in _records(located_orders, medications) if r.medication is not None
        )
    elif proposed_key is not None:
        proposed = _records(found.get(proposed_key, []), medications)
    else:
        proposed = ()

    keys = [p.key for p in sent if p.key != proposed_key]
    history: list[MedicationRecord] = []
    seen: set[str] = set()
    for key in keys:
        in_this: set[str] = set()
        for record in _records(found[key], medications):
            ref = record.reference
            # The same resource sent under two keys is one medicine; a re-signed order is
            # also in the history, where its copy is the current item the proposal replaces.
            # Within one container a repeat is kept: the regimen reports it as a duplicate.
            if ref is not None and ref in seen:
                continue
            if ref is not None:
                in_this.add(ref)
            history.append(record)
        seen |= in_this
    wanted = set(keys if history_keys is None else history_keys)
    # One part of the medicines list failing (an OperationOutcome for MedicationRequest while
    # MedicationStatement came back empty) leaves the list unknown, not empty.
    history_available = not (wanted & failed) and (
        bool(wanted & obtained)
        or any(
            x.resource.get("resourceType") in MEDICATION_RESOURCE_TYPES
            for key in keys
            for x in found[key]
        )
    )
    incomplete: list[str] = []
    if any(_has_next_page(p.value) for p in sent if p.key in keys):
        incomplete.append(PAGINATED)
    incomplete += [n for n in notes if any(n.startswith(f"prefetch.{k}") for k in wanted)]
    if elsewhere:
        notes.append(
            f"{elsewhere} resource(s) about another patient were left out (check the client's "
            "prefetch queries)"
        )

    clinical = read_clinical(x for located in found.values() for x in located)
    encounter = clinical.encounter(encounter_id) or next(
        (
            read_encounter(x.resource, x.path)
            for x in found.get("encounter", [])
            if x.resource.get("resourceType") == "Encounter"
        ),
        None,
    )
    available = frozenset(obtained) | clinical.present
    not_checked = [
        text for key, text in OPTIONAL_DATA.items() if key in expect and key not in available
    ]
    if "encounter" in expect and encounter is None:
        not_checked.append(ENCOUNTER_NOT_AVAILABLE)
    return PatientRecord(
        hook=hook,
        patient_id=patient_id,
        proposed=proposed,
        history=tuple(history),
        patient=clinical.patient,
        conditions=clinical.conditions,
        observations=clinical.observations,
        encounter=encounter,
        encounters=clinical.encounters,
        selections=selections,
        not_checked=(*not_checked, *notes, *(n for n in incomplete if n not in notes)),
        available=available,
        failed=frozenset(failed),
        resource_count=len(located_orders) + sum(map(len, found.values())),
        history_unavailable=None if history_available else _no_history(sent, wanted, failed),
        history_incomplete="; ".join(incomplete) or None,
    )


def _no_history(sent: Sequence[Sent], wanted: set[str], failed: set[str]) -> str:
    errors = [p.path for p in sent if p.key in wanted and p.key in failed]
    if not errors:
        return "no medicines list was obtained"
    return f"{' and '.join(errors)} held only an OperationOutcome: no medicines list was obtained"


def read_resources(hook: str, value: Any, path: str) -> tuple[PatientRecord, int]:
    """A Bundle, a list or one resource that is all of it the patient's record (nothing is
    proposed): the input of ``POST /ome``, ``/taper`` and ``/support-tier``. Returns the
    record and how many resources were sent. An input that is only an OperationOutcome is a
    400: there is nothing to report on. The input is walked once (issue 14); only the error
    walks it again, to name where the OperationOutcome is."""
    record = read_patient_record(hook, [Sent(path, value, path)])
    if path in record.failed:
        _, outcomes = resources(value, path)
        raise HookRequestError("the input holds only an OperationOutcome", outcomes[0].path)
    return record, record.resource_count


def _about_another_patient(resource: JsonObject, patient_id: str) -> bool:
    """Whether the resource names a patient other than ``patient_id`` (``subject`` or
    ``patient``, relative or absolute); a resource that names none is taken as this
    patient's, as prefetch queries are by patient. Some clients send ``patientId`` as
    ``Patient/<id>`` (cqframework's examples): the id is what follows the slash."""
    own = patient_id.rstrip("/").split("/")[-1]
    if resource.get("resourceType") == "Patient":
        rid = resource.get("id")
        return isinstance(rid, str) and rid != own
    for key in ("subject", "patient"):
        ref = resource.get(key)
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
            parts = ref["reference"].rstrip("/").split("/")
            if len(parts) >= 2 and parts[-2] == "Patient":
                return bool(parts[-1] != own)
    return False


def _has_next_page(value: Any) -> bool:
    return isinstance(value, dict) and any(
        isinstance(link, dict) and link.get("relation") == "next"
        for link in value.get("link") or ()
    )


def _medication_index(located: list[Located]) -> dict[str, JsonObject]:
    """Every Medication resource sent anywhere, by ``Medication/id`` and by fullUrl."""
    index: dict[str, JsonObject] = {}
    for x in located:
        r = x.resource
        if r.get("resourceType") != "Medication":
            continue
        if isinstance(r.get("id"), str):
            index[f"Medication/{r['id']}"] = r
        if x.full_url:
            index[x.full_url] = r
    return index


def _records(
    located: list[Located], medications: dict[str, JsonObject]
) -> tuple[MedicationRecord, ...]:
    return tuple(
        read_medication_record(obj(x.resource, x.path), x.path, medications)
        for x in located
        if x.resource.get("resourceType") in MEDICATION_RESOURCE_TYPES
    )
