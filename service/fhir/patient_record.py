"""The typed input to the clinical engine: what was proposed, what the patient is on, and
what could not be checked. Built from a CDS Hooks request (``service.cds_hooks.hook_input``)
or from a bare list of FHIR resources (``POST /ome``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from service.fhir.clinical_records import CodedRecord, EncounterInfo, PatientInfo
from service.fhir.medication_record import MedicationRecord


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
    #: Why the current medicines are unknown, when they are; the engine answers 412 if a
    #: proposed medicine needs them (CDS Hooks 2.0.1: required data unobtainable).
    history_unavailable: str | None = None
    #: Prefetch keys whose data was obtained (even if empty): decides "not checked" vs "none".
    available: frozenset[str] = frozenset()
