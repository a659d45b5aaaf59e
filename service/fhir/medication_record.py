"""MedicationRequest / MedicationStatement (R4, STU3, DSTU2 MedicationOrder) as typed records.

Lenient on shape, strict on type: we accept what real clients send (``category`` as an
object, STU3 ``doseQuantity`` directly on the Dosage, DSTU2 ``periodUnits``, a Bundle with
no ``type``) but a value of the wrong JSON type is a 400 naming its path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from service.errors import HookRequestError
from service.fhir.read import (
    JsonObject,
    obj,
    opt_bool,
    opt_list,
    opt_nonnegative,
    opt_num,
    opt_obj,
    opt_str,
)

MEDICATION_RESOURCE_TYPES = frozenset(
    {"MedicationRequest", "MedicationStatement", "MedicationOrder"}
)


#: Why a medicationReference was not resolved when its target was simply not sent.
NOT_SENT = "not contained, not in the Bundle or prefetch"


@dataclass(frozen=True, slots=True)
class Quantity:
    value: float
    unit: str | None = None  # the human unit text
    code: str | None = None  # the coded unit (UCUM, SNOMED)
    system: str | None = None


@dataclass(frozen=True, slots=True)
class CodingRef:
    system: str | None
    code: str | None
    display: str | None


@dataclass(frozen=True, slots=True)
class MedicationConcept:
    codings: tuple[CodingRef, ...]
    text: str | None
    #: A ``medicationReference`` that could not be resolved (not contained, not in the Bundle
    #: or prefetch): the medicine is then unresolved with this as the reason, never dropped.
    unresolved_reference: str | None = None
    #: Why it could not be resolved, in words (shown with the reference).
    unresolved_why: str = "not contained, not in the Bundle or prefetch"  # = NOT_SENT


@dataclass(frozen=True, slots=True)
class Dosage:
    """One FHIR Dosage, flattened to what daily-dose arithmetic needs."""

    text: str | None = None
    patient_instruction: str | None = None
    sequence: int | None = None
    as_needed: bool = False
    frequency: float | None = None
    frequency_max: float | None = None
    period: float | None = None
    period_max: float | None = None
    period_unit: str | None = None
    time_of_day_count: int = 0
    when_count: int = 0
    dose_low: Quantity | None = None
    dose_high: Quantity | None = None
    rate: Quantity | None = None
    rate_per: Quantity | None = None  # denominator of a rateRatio ("mg per 24 h")
    max_dose_per_period: tuple[Quantity, Quantity] | None = None
    #: ``Dosage.route`` as lower-case codes, displays and text (e.g. "26643006", "oral").
    route: tuple[str, ...] = ()

    @property
    def has_structure(self) -> bool:
        return any(
            x is not None for x in (self.dose_high, self.rate, self.frequency, self.period)
        ) or bool(self.time_of_day_count or self.when_count)


@dataclass(frozen=True, slots=True)
class MedicationRecord:
    """A medication resource as the rules need it. ``path`` locates it in the request."""

    resource_type: str
    id: str | None
    path: str
    status: str | None
    intent: str | None
    medication: MedicationConcept | None
    dosages: tuple[Dosage, ...]
    authored_on: date | None = None
    effective_start: date | None = None
    effective_end: date | None = None
    dispense_quantity: Quantity | None = None
    expected_supply_days: float | None = None
    number_of_repeats_allowed: int | None = None
    based_on: tuple[str, ...] = ()
    prior_prescription: str | None = None
    group_identifier: str | None = None
    categories: tuple[str, ...] = ()
    course_of_therapy: str | None = None
    encounter: str | None = None
    #: R4 ``MedicationRequest.doNotPerform``: an instruction NOT to give the medicine. It is
    #: never counted or proposed as a medicine being taken (service/ome/regimen.py).
    do_not_perform: bool = False
    #: The resource as sent, for suggestions that update it (CDS Hooks: "update" carries
    #: the whole resource). Never logged.
    resource: JsonObject = field(default_factory=dict, repr=False, compare=False)

    @property
    def reference(self) -> str | None:
        return f"{self.resource_type}/{self.id}" if self.id else None

    @property
    def start(self) -> date | None:
        return self.effective_start or self.authored_on


def read_medication_record(
    resource: JsonObject, path: str, medications: dict[str, JsonObject]
) -> MedicationRecord:
    """Read one medication resource. ``medications`` resolves ``medicationReference``s
    (keys ``Medication/id`` and Bundle fullUrls; contained resources are looked up first)."""
    rtype = resource.get("resourceType")
    if rtype not in MEDICATION_RESOURCE_TYPES:
        raise HookRequestError("expected a MedicationRequest or MedicationStatement", path)
    dispense = opt_obj(resource, "dispenseRequest", path) or {}
    dpath = f"{path}.dispenseRequest"
    effective = opt_obj(resource, "effectivePeriod", path) or {}
    status = opt_str(resource, "status", path)
    return MedicationRecord(
        resource_type=rtype,
        id=opt_str(resource, "id", path),
        path=path,
        status=status.lower() if status else None,
        intent=opt_str(resource, "intent", path),
        medication=_medication(resource, path, medications),
        dosages=tuple(
            _dosage(obj(d, f"{path}.{key}[{i}]"), f"{path}.{key}[{i}]")
            for key in ("dosageInstruction", "dosage")
            for i, d in enumerate(opt_list(resource, key))
        ),
        authored_on=_date(resource, "authoredOn", path) or _date(resource, "dateWritten", path),
        effective_start=_date(effective, "start", f"{path}.effectivePeriod")
        or _date(resource, "effectiveDateTime", path),
        effective_end=_date(effective, "end", f"{path}.effectivePeriod"),
        dispense_quantity=_quantity(dispense.get("quantity"), f"{dpath}.quantity"),
        expected_supply_days=_duration_days(
            dispense.get("expectedSupplyDuration"), f"{dpath}.expectedSupplyDuration"
        ),
        number_of_repeats_allowed=_int(dispense, "numberOfRepeatsAllowed", dpath),
        based_on=tuple(r for r in (_reference(x) for x in opt_list(resource, "basedOn")) if r),
        prior_prescription=_reference(resource.get("priorPrescription")),
        group_identifier=_identifier(resource.get("groupIdentifier")),
        categories=tuple(
            c
            for i, cat in enumerate(opt_list(resource, "category"))
            for c in _concept_codes(obj(cat, f"{path}.category[{i}]"))
        ),
        course_of_therapy=next(
            iter(_concept_codes(opt_obj(resource, "courseOfTherapyType", path) or {})), None
        ),
        encounter=_reference(resource.get("encounter") or resource.get("context")),
        do_not_perform=bool(opt_bool(resource, "doNotPerform", path)),
        resource=resource,
    )


def _medication(
    resource: JsonObject, path: str, medications: dict[str, JsonObject]
) -> MedicationConcept | None:
    concept = opt_obj(resource, "medicationCodeableConcept", path)
    if concept is not None:
        return _concept(concept, f"{path}.medicationCodeableConcept")
    ref = opt_obj(resource, "medicationReference", path)
    if ref is None:
        return None
    target = opt_str(ref, "reference", f"{path}.medicationReference")
    medication = None
    if target:
        if target.startswith("#"):
            for i, item in enumerate(opt_list(resource, "contained")):
                contained = obj(item, f"{path}.contained[{i}]")  # never skipped silently
                if contained.get("id") == target[1:]:
                    medication = contained
        else:
            # In-bundle references may be the entry's fullUrl (urn:uuid:...) or relative.
            medication = medications.get(target) or medications.get(_relative(target))
    if medication is not None:
        code = opt_obj(medication, "code", f"{path}.medicationReference")
        if code is not None:
            return _concept(code, f"{path}.medicationReference(resolved).code")
    display = opt_str(ref, "display", f"{path}.medicationReference")
    if display:
        return MedicationConcept(codings=(), text=display)
    # Each way a reference fails gets its own reason (issue 9 item 6): never a wrong one.
    if not target:
        why = "it has neither a reference nor a display"
    elif medication is not None:
        why = "it points to a Medication with no code"
    else:
        why = NOT_SENT
    return MedicationConcept(
        codings=(), text=None, unresolved_reference=target or "", unresolved_why=why
    )


def _concept(concept: JsonObject, path: str) -> MedicationConcept:
    codings = []
    for i, c in enumerate(opt_list(concept, "coding")):
        coding = obj(c, f"{path}.coding[{i}]")
        cpath = f"{path}.coding[{i}]"
        codings.append(
            CodingRef(
                system=opt_str(coding, "system", cpath),
                code=_code(coding, cpath),
                display=opt_str(coding, "display", cpath),
            )
        )
    return MedicationConcept(codings=tuple(codings), text=opt_str(concept, "text", path))


def _code(coding: JsonObject, path: str) -> str | None:
    """Codes are strings in FHIR JSON; some clients send dm+d ids as numbers, and the GP
    Connect medications example sends a unit code as a one-element list (``["d"]``)."""
    value = coding.get("code")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], str):
        return value[0]
    return opt_str(coding, "code", path)


def _concept_codes(concept: JsonObject) -> tuple[str, ...]:
    codes = [
        str(c.get("code")).lower()
        for c in concept.get("coding") or ()
        if isinstance(c, dict) and c.get("code") is not None
    ]
    text = concept.get("text")
    if isinstance(text, str):
        codes.append(text.lower())
    return tuple(codes)


def _dosage(d: JsonObject, path: str) -> Dosage:
    timing = opt_obj(d, "timing", path) or {}
    repeat = opt_obj(timing, "repeat", f"{path}.timing") or {}
    rpath = f"{path}.timing.repeat"
    dose_low = dose_high = None
    rate = rate_per = None
    # R4 doseAndRate; prefer the entry with no type or type 'ordered' (Epic sends several,
    # as cqframework opioid-cds-r4 handles it).
    entries = [obj(x, f"{path}.doseAndRate[{i}]") for i, x in enumerate(opt_list(d, "doseAndRate"))]
    chosen = _ordered_entry(entries)
    source: JsonObject = chosen if chosen is not None else d  # STU3/DSTU2: directly on Dosage
    spath = f"{path}.doseAndRate[{entries.index(chosen)}]" if chosen is not None else path
    dq = _quantity(source.get("doseQuantity"), f"{spath}.doseQuantity")
    if dq is not None:
        dose_low = dose_high = dq
    dr = opt_obj(source, "doseRange", spath)
    if dr is not None:
        dose_low = _quantity(dr.get("low"), f"{spath}.doseRange.low")
        dose_high = _quantity(dr.get("high"), f"{spath}.doseRange.high") or dose_low
    rate = _quantity(source.get("rateQuantity"), f"{spath}.rateQuantity")
    ratio = opt_obj(source, "rateRatio", spath)
    if ratio is not None:
        rate = _quantity(ratio.get("numerator"), f"{spath}.rateRatio.numerator")
        rate_per = _quantity(ratio.get("denominator"), f"{spath}.rateRatio.denominator")
    max_per_period = None
    mdp = d.get("maxDosePerPeriod")
    if isinstance(mdp, list):  # R5 made it a list; take the first
        mdp = mdp[0] if mdp else None
    if mdp is not None:
        mdp_obj = obj(mdp, f"{path}.maxDosePerPeriod")
        num = _quantity(mdp_obj.get("numerator"), f"{path}.maxDosePerPeriod.numerator")
        den = _quantity(mdp_obj.get("denominator"), f"{path}.maxDosePerPeriod.denominator")
        if num is not None and den is not None:
            max_per_period = (num, den)
    as_needed = opt_bool(d, "asNeededBoolean", path) or ("asNeededCodeableConcept" in d)
    sequence = opt_num(d, "sequence", path)
    return Dosage(
        text=opt_str(d, "text", path),
        patient_instruction=opt_str(d, "patientInstruction", path),
        sequence=int(sequence) if sequence is not None else None,
        as_needed=bool(as_needed),
        frequency=opt_nonnegative(repeat, "frequency", rpath),
        frequency_max=opt_nonnegative(repeat, "frequencyMax", rpath),
        period=opt_nonnegative(repeat, "period", rpath),
        period_max=opt_nonnegative(repeat, "periodMax", rpath),
        # DSTU2 says periodUnits; the CDC example says unit.
        period_unit=opt_str(repeat, "periodUnit", rpath)
        or opt_str(repeat, "periodUnits", rpath)
        or opt_str(repeat, "unit", rpath),
        time_of_day_count=len(opt_list(repeat, "timeOfDay")),
        when_count=len(opt_list(repeat, "when")),
        dose_low=dose_low,
        dose_high=dose_high,
        rate=rate,
        rate_per=rate_per,
        max_dose_per_period=max_per_period,
        route=_terms(opt_obj(d, "route", path) or {}),
    )


def _terms(concept: JsonObject) -> tuple[str, ...]:
    """A CodeableConcept's codes, displays and text, lower case."""
    terms = [
        str(c.get(key)).strip().lower()
        for c in concept.get("coding") or ()
        if isinstance(c, dict)
        for key in ("code", "display")
        if c.get(key) is not None
    ]
    text = concept.get("text")
    if isinstance(text, str):
        terms.append(text.strip().lower())
    return tuple(t for t in terms if t)


def _ordered_entry(entries: list[JsonObject]) -> JsonObject | None:
    for entry in entries:
        etype = entry.get("type")
        if etype is None:
            return entry
        codes = _concept_codes(etype) if isinstance(etype, dict) else ()
        if "ordered" in codes:
            return entry
    return entries[0] if entries else None


def _quantity(value: Any, path: str) -> Quantity | None:
    if value is None:
        return None
    q = obj(value, path)
    # A negative dose, rate, quantity or duration is not a smaller one: refuse it (400).
    number = opt_nonnegative(q, "value", path)
    if number is None:
        return None
    return Quantity(
        value=number,
        unit=opt_str(q, "unit", path),
        code=_code(q, path),
        system=opt_str(q, "system", path),
    )


_DAYS_PER = {"d": 1.0, "day": 1.0, "days": 1.0, "wk": 7.0, "week": 7.0, "weeks": 7.0,
             "mo": 30.0, "month": 30.0, "months": 30.0, "h": 1 / 24, "hour": 1 / 24,
             "hours": 1 / 24}  # fmt: skip


def _duration_days(value: Any, path: str) -> float | None:
    q = _quantity(value, path)
    if q is None:
        return None
    unit = (q.code or q.unit or "d").lower()
    if unit not in _DAYS_PER:
        raise HookRequestError("unrecognised duration unit (use d, wk, mo, h)", path)
    return q.value * _DAYS_PER[unit]


def _int(parent: JsonObject, key: str, path: str) -> int | None:
    number = opt_nonnegative(parent, key, path)
    return int(number) if number is not None else None


def _reference(value: Any) -> str | None:
    if isinstance(value, dict):
        ref = value.get("reference")
        return _relative(ref) if isinstance(ref, str) else None
    return None


def _relative(reference: str) -> str:
    """``https://x/fhir/MedicationRequest/1`` and ``MedicationRequest/1`` are the same."""
    parts = reference.rstrip("/").split("/")
    if len(parts) >= 2 and "_history" not in parts[-2:]:
        return f"{parts[-2]}/{parts[-1]}"
    return reference


def _identifier(value: Any) -> str | None:
    if isinstance(value, dict) and isinstance(value.get("value"), str):
        return f"{value.get('system', '')}|{value['value']}"
    return None


def _date(parent: JsonObject, key: str, path: str) -> date | None:
    text = opt_str(parent, key, path)
    if text is None:
        return None
    return parse_fhir_date(text, f"{path}.{key}")


def parse_fhir_date(text: str, path: str) -> date:
    """FHIR date, dateTime or instant → the calendar date (partial dates take day 1)."""
    try:
        if len(text) == 4:
            return date(int(text), 1, 1)
        if len(text) == 7:
            return date(int(text[:4]), int(text[5:7]), 1)
        return date.fromisoformat(text[:10])
    except ValueError:
        # Never echo the text (a token-like string sent as a date came back: issue 12).
        raise HookRequestError("not a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD...)", path) from None
