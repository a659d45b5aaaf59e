"""Patient, Condition, Encounter and Observation read into the few fields the rules use."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from service.fhir.bundle import Located
from service.fhir.medication_record import CodingRef, parse_fhir_date
from service.fhir.read import JsonObject, obj, opt_list, opt_obj, opt_str


@dataclass(frozen=True, slots=True)
class PatientInfo:
    gender: str | None
    birth_date: date | None


@dataclass(frozen=True, slots=True)
class CodedRecord:
    """A Condition or Observation: its codes, whether it is current, and its dates."""

    resource_type: str
    codings: tuple[CodingRef, ...]
    text: str | None
    active: bool  # clinicalStatus active/recurrence/relapse, or an Observation not cancelled
    recorded: date | None
    ended: date | None
    path: str
    categories: tuple[str, ...] = ()
    #: Recorded in error or refuted (verificationStatus; Observation status): not evidence of
    #: anything, even as history.
    refuted: bool = False


@dataclass(frozen=True, slots=True)
class EncounterInfo:
    id: str | None
    status: str | None
    classes: tuple[str, ...]
    types: tuple[str, ...]  # type and serviceType codes and texts, lower case
    start: date | None
    end: date | None
    discharge_disposition: str | None


_INACTIVE_CLINICAL = frozenset({"inactive", "resolved", "remission"})
_REFUTED = frozenset({"refuted", "entered-in-error"})


def read_patient(resource: JsonObject, path: str) -> PatientInfo:
    birth = opt_str(resource, "birthDate", path)
    return PatientInfo(
        gender=opt_str(resource, "gender", path),
        birth_date=parse_fhir_date(birth, f"{path}.birthDate") if birth else None,
    )


def read_coded(resource: JsonObject, path: str) -> CodedRecord:
    rtype = str(resource.get("resourceType"))
    code = opt_obj(resource, "code", path) or {}
    codings = tuple(
        CodingRef(
            system=opt_str(c, "system", f"{path}.code.coding[{i}]"),
            code=str(c["code"]) if c.get("code") is not None else None,
            display=opt_str(c, "display", f"{path}.code.coding[{i}]"),
        )
        for i, c in (
            (i, obj(c, f"{path}.code.coding[{i}]")) for i, c in enumerate(opt_list(code, "coding"))
        )
    )
    if rtype == "Condition":
        clinical = _first_code(resource.get("clinicalStatus"))
        refuted = _first_code(resource.get("verificationStatus")) in _REFUTED
        active = clinical not in _INACTIVE_CLINICAL and not refuted
    else:
        refuted = opt_str(resource, "status", path) in {"cancelled", "entered-in-error"}
        active = not refuted
    recorded = (
        opt_str(resource, "onsetDateTime", path)
        or opt_str(resource, "recordedDate", path)
        or opt_str(resource, "effectiveDateTime", path)
        or opt_str(resource, "issued", path)
    )
    ended = opt_str(resource, "abatementDateTime", path)
    return CodedRecord(
        resource_type=rtype,
        codings=codings,
        text=opt_str(code, "text", f"{path}.code"),
        active=active,
        recorded=parse_fhir_date(recorded, path) if recorded else None,
        ended=parse_fhir_date(ended, f"{path}.abatementDateTime") if ended else None,
        path=path,
        categories=tuple((_first_code(c) or "") for c in opt_list(resource, "category")),
        refuted=refuted,
    )


def read_encounter(resource: JsonObject, path: str) -> EncounterInfo:
    period = opt_obj(resource, "period", path) or {}
    start = opt_str(period, "start", f"{path}.period")
    end = opt_str(period, "end", f"{path}.period")
    hospitalization = opt_obj(resource, "hospitalization", path) or {}
    classes = tuple(
        str(c.get("code")).lower()
        for c in opt_list(resource, "class")
        if isinstance(c, dict) and c.get("code")
    )
    types = tuple(
        t
        for concept in [*opt_list(resource, "type"), resource.get("serviceType")]
        if isinstance(concept, dict)
        for t in _texts(concept)
    )
    return EncounterInfo(
        id=opt_str(resource, "id", path),
        status=opt_str(resource, "status", path),
        classes=classes,
        types=types,
        start=parse_fhir_date(start, f"{path}.period.start") if start else None,
        end=parse_fhir_date(end, f"{path}.period.end") if end else None,
        discharge_disposition=_first_code(hospitalization.get("dischargeDisposition")),
    )


def _texts(concept: JsonObject) -> list[str]:
    """Codes, displays and text of a CodeableConcept, lower case."""
    out: list[str] = []
    for coding in opt_list(concept, "coding"):
        if isinstance(coding, dict):
            out += [str(coding[k]).lower() for k in ("code", "display") if coding.get(k)]
    text = concept.get("text")
    return [*out, text.lower()] if isinstance(text, str) else out


def _first_code(concept: object) -> str | None:
    if isinstance(concept, dict):
        for c in concept.get("coding") or ():
            if isinstance(c, dict) and c.get("code") is not None:
                return str(c["code"]).lower()
        text = concept.get("text")
        return text.lower() if isinstance(text, str) else None
    if isinstance(concept, str):  # STU3 clinicalStatus is a plain code
        return concept.lower()
    return None


@dataclass(frozen=True, slots=True)
class ClinicalData:
    """The non-medication resources the rules read, found by resource type."""

    patient: PatientInfo | None
    conditions: tuple[CodedRecord, ...]
    observations: tuple[CodedRecord, ...]
    encounters: tuple[EncounterInfo, ...]
    #: Which kinds were present: "patient", "conditions", "observations", "encounters".
    present: frozenset[str]

    def encounter(self, encounter_id: str | None) -> EncounterInfo | None:
        return next((e for e in self.encounters if encounter_id and e.id == encounter_id), None)


_KINDS = {
    "Patient": "patient",
    "Condition": "conditions",
    "Observation": "observations",
    "Encounter": "encounters",
}


def read_clinical(located: Iterable[Located]) -> ClinicalData:
    """Patient, Conditions, Observations and Encounters among ``located``, by resource type
    (clients name prefetch keys their own way, so the type decides, not the key)."""
    patient: PatientInfo | None = None
    conditions: list[CodedRecord] = []
    observations: list[CodedRecord] = []
    encounters: list[EncounterInfo] = []
    present: set[str] = set()
    for x in located:
        kind = x.resource.get("resourceType")
        if kind == "Patient" and patient is None:
            patient = read_patient(x.resource, x.path)
        elif kind == "Condition":
            conditions.append(read_coded(x.resource, x.path))
        elif kind == "Observation":
            observations.append(read_coded(x.resource, x.path))
        elif kind == "Encounter":
            encounters.append(read_encounter(x.resource, x.path))
        else:
            continue
        present.add(_KINDS[str(kind)])
    return ClinicalData(
        patient, tuple(conditions), tuple(observations), tuple(encounters), frozenset(present)
    )
