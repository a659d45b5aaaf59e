"""Typed request bodies for the OpenAPI document (issue 12 items 2 and 3).

The FHIR parts of a body (``medications``, a Bundle) are read at run time by the lenient
reader in ``service.fhir`` — the only code that parses raw FHIR JSON — so here they are
described, not parsed: ``fhir_schema`` gives the OpenAPI document a typed subset of a FHIR
MedicationRequest, MedicationStatement and Bundle (FHIR resources are open, so other
elements are allowed), which lets property-based testing (schemathesis) reach the dose
arithmetic. The service's own wrappers are strict: an unknown key is a 400
(``pace.percent: 50`` used to fall back silently to the default pace).

Bounds here are input validation, not clinical numbers: lengths and counts no real record
approaches, so a hostile body cannot make the service work without end.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from service.cds_hooks.models import MAX_RESOURCES_PER_REQUEST, count_resources
from service.errors import HookRequestError

#: Longest string the typed schema allows (a dosage text, a display name).
MAX_TEXT = 2_000
#: Most items in any list of a typed body (entries, dosage lines, codings).
MAX_ITEMS = 1_000


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Coding(_Open):
    system: str | None = Field(default=None, max_length=MAX_TEXT)
    code: str | None = Field(default=None, max_length=MAX_TEXT)
    display: str | None = Field(default=None, max_length=MAX_TEXT)


class CodeableConcept(_Open):
    coding: list[Coding] | None = Field(default=None, max_length=MAX_ITEMS)
    text: str | None = Field(default=None, max_length=MAX_TEXT)


class Quantity(_Open):
    value: float | None = None
    unit: str | None = Field(default=None, max_length=MAX_TEXT)
    system: str | None = Field(default=None, max_length=MAX_TEXT)
    code: str | None = Field(default=None, max_length=MAX_TEXT)


class Ratio(_Open):
    numerator: Quantity | None = None
    denominator: Quantity | None = None


class Repeat(_Open):
    frequency: int | None = None
    frequencyMax: int | None = None
    period: float | None = None
    periodMax: float | None = None
    periodUnit: Literal["s", "min", "h", "d", "wk", "mo", "a"] | None = None


class Timing(_Open):
    repeat: Repeat | None = None


class DoseAndRate(_Open):
    doseQuantity: Quantity | None = None
    rateQuantity: Quantity | None = None


class Dosage(_Open):
    text: str | None = Field(default=None, max_length=MAX_TEXT)
    patientInstruction: str | None = Field(default=None, max_length=MAX_TEXT)
    timing: Timing | None = None
    asNeededBoolean: bool | None = None
    doseAndRate: list[DoseAndRate] | None = Field(default=None, max_length=MAX_ITEMS)
    maxDosePerPeriod: Ratio | None = None


class MedicationResource(_Open):
    """A MedicationRequest or MedicationStatement: the elements the service reads."""

    resourceType: Literal["MedicationRequest", "MedicationStatement"]
    id: str | None = Field(default=None, max_length=64)
    status: str | None = Field(default=None, max_length=64)
    intent: str | None = Field(default=None, max_length=64)
    medicationCodeableConcept: CodeableConcept | None = None
    authoredOn: str | None = Field(default=None, max_length=64)
    dosageInstruction: list[Dosage] | None = Field(default=None, max_length=MAX_ITEMS)
    dosage: list[Dosage] | None = Field(default=None, max_length=MAX_ITEMS)


class OtherResource(_Open):
    """Any other FHIR resource (Patient, Condition, Observation...): read where it is used."""

    resourceType: str = Field(max_length=64)


class BundleEntry(_Open):
    resource: MedicationResource | OtherResource


class Bundle(_Open):
    resourceType: Literal["Bundle"]
    type: str | None = Field(default=None, max_length=64)
    entry: list[BundleEntry] | None = Field(default=None, max_length=MAX_ITEMS)


Medications = Bundle | list[MedicationResource] | MedicationResource


class OmeRequest(BaseModel):
    """The wrapper form of ``POST /ome``."""

    model_config = ConfigDict(extra="forbid")

    # Missing: ome_report's own 400 says what to send.
    medications: Any = Field(
        default=None,
        json_schema_extra={"description": "A Bundle, a list of resources, or one resource."},
    )
    profile: str | None = Field(default=None, max_length=64)


_REF = "#/components/schemas/Fhir{model}"


def _schemas() -> tuple[dict[str, Any], dict[str, Any]]:
    """The medications schema, and the components it refers to (``Fhir<Model>``)."""
    schema = TypeAdapter(Medications).json_schema(ref_template=_REF)
    defs = schema.pop("$defs", {})
    return schema, {f"Fhir{name}": value for name, value in defs.items()}


#: ``components.schemas`` entries that the typed bodies refer to (added by ``docs.install``).
MEDICATIONS_SCHEMA, FHIR_COMPONENTS = _schemas()
BUNDLE_SCHEMA = {"$ref": _REF.format(model="Bundle")}
OME_BODY_SCHEMA = {
    "anyOf": [
        *MEDICATIONS_SCHEMA["anyOf"],
        {
            "type": "object",
            "description": "The wrapper form: the medications and an OME profile.",
            "properties": {
                "medications": MEDICATIONS_SCHEMA,
                "profile": {"type": "string", "maxLength": 64},
            },
            "required": ["medications"],
            "additionalProperties": False,
        },
    ]
}


def check_resource_count(value: Any, location: str) -> None:
    """A 400 when a body holds more FHIR resources than one request may (issue 12 item 3)."""
    if count_resources(value) > MAX_RESOURCES_PER_REQUEST:
        raise HookRequestError(
            f"more than {MAX_RESOURCES_PER_REQUEST} FHIR resources in one request", location
        )
