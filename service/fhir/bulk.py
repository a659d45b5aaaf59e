"""A FHIR Bulk Data export, read as lines of resources: which files make it up, whose patient
each resource is, the Medication resources a patient's medicines point to, and the
organisation a patient belongs to.

A Bulk Data export ([FHIR Bulk Data Access 2.0], "Response - Output File Request") is one
NDJSON file or more per resource type, named ``<Type>.ndjson`` or ``<Type>.<n>.ndjson`` by
common servers (HAPI, Microsoft's FHIR server); they are often gzipped. Plain Bundles
(``*.json``: Synthea writes one per patient) are read too, entry by entry. Only this module
knows those shapes: the Find engines (``service.find``) see :class:`Line` items, and each
patient's lines become a Bundle that the one record builder
(``service.fhir.patient_record.read_patient_record``) reads, as for ``POST /ome``.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from service.fhir.medication_record import MEDICATION_RESOURCE_TYPES
from service.fhir.read import JsonObject

#: NHS organisation (ODS) codes: https://digital.nhs.uk/services/organisation-data-service
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
#: Resources about one patient that the record builder reads; anything else is skipped.
PATIENT_TYPES = frozenset(
    {"Patient", "Condition", "Observation", "Encounter", *MEDICATION_RESOURCE_TYPES}
)
#: Kinds of clinical data the record builder tells apart ("not checked" versus "none").
KIND_OF_TYPE = {
    "Condition": "conditions",
    "Observation": "observations",
    "Encounter": "encounters",
    "Patient": "patient",
}
_NDJSON = re.compile(r"^(?P<type>[A-Za-z]+)(\.\d+)?\.ndjson(\.gz)?$")
_JSON = re.compile(r"^.*\.json(\.gz)?$")
# Dates that place a medicine in time (for the span of the export, hence its trend).
_DATE_KEYS = ("authoredOn", "effectiveDateTime", "dateAsserted")


@dataclass(frozen=True, slots=True)
class ExportFile:
    path: Path
    #: ``ndjson`` (one resource a line) or ``bundle`` (one JSON document: a Bundle or resource)
    shape: str
    #: The resource type the file name states (``None`` for Bundles).
    resource_type: str | None


@dataclass(frozen=True, slots=True)
class Line:
    """One resource of the export, classified. ``kind``: ``patient`` (about ``key``, the
    patient id), ``medication`` (a Medication, ``key`` its ``Medication/<id>``),
    ``organisation`` (``key`` its ``Organization/<id>``) or ``other`` (not read)."""

    kind: str
    key: str
    resource_type: str
    full_url: str | None
    #: For a patient's medicine: the Medication keys it points to, as written and relative.
    refs: tuple[str, ...]
    #: For a patient's medicine: the first date it gives (YYYY-MM-DD), for the export's span.
    date: str | None
    text: str


def export_files(folder: Path) -> list[ExportFile]:
    """The files of an export folder (or one file), in name order; others are ignored."""
    paths = sorted(folder.rglob("*")) if folder.is_dir() else [folder]
    found = []
    for path in paths:
        if not path.is_file():
            continue
        m = _NDJSON.match(path.name)
        if m:
            found.append(ExportFile(path, "ndjson", m.group("type")))
        elif _JSON.match(path.name):
            found.append(ExportFile(path, "bundle", None))
    return found


def _open(path: Path) -> IO[str]:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


def read_lines(file: ExportFile) -> Iterator[Line]:
    """Every resource of one file, classified. A line that is not JSON is reported as an
    error naming the file and line number (never the content)."""
    with _open(file.path) as f:
        if file.shape == "bundle":
            yield from lines_of_document(f.read(), file.path.name)
            return
        for number, text in enumerate(f, start=1):
            text = text.strip()
            if text:
                yield from lines_of_document(text, f"{file.path.name} line {number}")


def lines_of_document(text: str, where: str) -> Iterator[Line]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise ValueError(f"{where} is not valid JSON") from None
    if not isinstance(value, dict):
        raise ValueError(f"{where} is not a FHIR resource")
    if value.get("resourceType") == "Bundle":
        for entry in value.get("entry") or ():
            if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
                url = entry.get("fullUrl")
                yield classify(entry["resource"], url if isinstance(url, str) else None)
        return
    yield classify(value, None, text)


def classify(resource: JsonObject, full_url: str | None, text: str | None = None) -> Line:
    rtype = str(resource.get("resourceType"))
    body = text if text is not None else json.dumps(resource, separators=(",", ":"))
    rid = resource.get("id")
    if rtype == "Medication" and isinstance(rid, str):
        return Line("medication", f"Medication/{rid}", rtype, full_url, (), None, body)
    if rtype == "Organization" and isinstance(rid, str):
        return Line("organisation", f"Organization/{rid}", rtype, full_url, (), None, body)
    if rtype in PATIENT_TYPES:
        pid = rid if rtype == "Patient" else _patient_of(resource)
        if isinstance(pid, str) and pid:
            refs: tuple[str, ...] = ()
            when = None
            if rtype in MEDICATION_RESOURCE_TYPES:
                refs = _medication_refs(resource)
                when = _first_date(resource)
            return Line("patient", pid, rtype, full_url, refs, when, body)
    return Line("other", "", rtype, full_url, (), None, "")


def medication_keys(line: Line) -> tuple[str, ...]:
    """The keys a patient's medicine may use to point at this Medication."""
    return (line.key, line.full_url) if line.full_url else (line.key,)


def reference_id(reference: str) -> str:
    """``Patient/1``, ``https://x/fhir/Patient/1`` and ``urn:uuid:1`` all name ``1``."""
    ref = reference.rstrip("/")
    if ref.startswith("urn:uuid:"):
        return ref.removeprefix("urn:uuid:")
    return ref.split("/")[-1]


def _patient_of(resource: JsonObject) -> str | None:
    for key in ("subject", "patient"):
        ref = resource.get(key)
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
            return reference_id(ref["reference"])
    return None


def _relative(reference: str) -> str:
    parts = reference.rstrip("/").split("/")
    return f"{parts[-2]}/{parts[-1]}" if len(parts) >= 2 else reference


def _medication_refs(resource: JsonObject) -> tuple[str, ...]:
    ref = resource.get("medicationReference")
    if not isinstance(ref, dict):
        return ()
    target = ref.get("reference")
    if not isinstance(target, str) or not target or target.startswith("#"):
        return ()
    return tuple(dict.fromkeys((target, _relative(target))))


def _first_date(resource: JsonObject) -> str | None:
    for key in _DATE_KEYS:
        value = resource.get(key)
        if isinstance(value, str) and len(value) >= 10:
            return value[:10]
    period = resource.get("effectivePeriod")
    if isinstance(period, dict) and isinstance(period.get("start"), str):
        return str(period["start"])[:10]
    return None


def organisation_code(resource: JsonObject) -> str | None:
    """An Organization's ODS code, else its id."""
    for identifier in resource.get("identifier") or ():
        if (
            isinstance(identifier, dict)
            and identifier.get("system") == ODS_SYSTEM
            and isinstance(identifier.get("value"), str)
        ):
            return str(identifier["value"])
    rid = resource.get("id")
    return rid if isinstance(rid, str) else None


def organisation_index(lines: Iterable[Line]) -> dict[str, str]:
    """Organisation code by every key a Patient may use to point at it."""
    index: dict[str, str] = {}
    for line in lines:
        code = organisation_code(json.loads(line.text))
        if code is None:
            continue
        index[line.key] = code
        if line.full_url:
            index[line.full_url] = code
    return index


def patient_organisation(patient: JsonObject | None, organisations: dict[str, str]) -> str | None:
    """The patient's ``generalPractitioner`` Organization, else ``managingOrganization``: its
    ODS code (from the export's Organization, or the reference's own identifier), else its id.
    A general practitioner that is a Practitioner is not an organisation and is passed over."""
    if patient is None:
        return None
    gps = patient.get("generalPractitioner")
    candidates: list[Any] = list(gps) if isinstance(gps, list) else []
    candidates.append(patient.get("managingOrganization"))
    for ref in candidates:
        code = _organisation_of_reference(ref, organisations)
        if code is not None:
            return code
    return None


def _organisation_of_reference(ref: Any, organisations: dict[str, str]) -> str | None:
    if not isinstance(ref, dict):
        return None
    identifier = ref.get("identifier")
    if (
        isinstance(identifier, dict)
        and identifier.get("system") == ODS_SYSTEM
        and isinstance(identifier.get("value"), str)
    ):
        return str(identifier["value"])
    target = ref.get("reference")
    if not isinstance(target, str) or not target:
        return None
    if ref.get("type") not in (None, "Organization"):
        return None
    if target in organisations:
        return organisations[target]
    relative = _relative(target)
    if relative in organisations:
        return organisations[relative]
    if relative.startswith("Organization/"):
        return relative.removeprefix("Organization/")
    return None
