"""Tapering plans: ``POST /taper`` (from FHIR medication resources) and ``GET /taper/plan``
(from the opaque reference a card's link carries: the compact items, encrypted, so no
regimen is in a URL or an access log; the items in the clear only with auth off, for
development; issue 12 item 4, docs/adr/0008-client-trust.md). Both return the plan and a
FHIR CarePlan."""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Body, Header, Query
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from service.api.bodies import MEDICATIONS_SCHEMA, check_resource_count
from service.api.deps import NowDep, PipelineDep, SettingsDep
from service.api.errors import error_responses
from service.api.examples import TAPER_EXAMPLES
from service.api.taper_page import plan_page
from service.auth.links import MAX_LINK_CHARS
from service.errors import HookRequestError
from service.fhir.patient_record import PatientRecord, read_resources
from service.fhir.systems import DMD, RXNORM
from service.pipeline import Pipeline
from service.taper.fhir import care_plan
from service.taper.from_regimen import named_how
from service.taper.planner import TaperPlan
from service.taper.settings import Pace

router = APIRouter(tags=["Tapering"])

SYSTEMS = {"dmd": DMD, "rxnorm": RXNORM}
#: A patch's change interval in a plan link item: "every=72h".
_EVERY = re.compile(r"every=([1-9][0-9]{0,3})h")
#: A plan is for now: its first step is within a year of today (input validation, not a
#: clinical number).
_START_WINDOW_DAYS = 366


class PaceIn(BaseModel):
    # Unknown keys are a 400: "percent: 50" used to fall back silently to 10% (issue 12).
    model_config = ConfigDict(extra="forbid")

    reduction_percent: float | None = Field(
        default=None,
        gt=0,
        le=100,
        allow_inf_nan=False,  # Python's json reads NaN, Infinity and 1e309 (issue 9 item 7)
        description="Reduce by this % of the starting dose per interval.",
    )
    interval_days: int | None = Field(default=None, ge=1, le=365)
    slower_near_end: bool | None = Field(
        default=None,
        description="Slow the pace near the end of the taper, as rules/taper.yaml sets it "
        "(slower_near_end).",
    )


class TaperRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Read by the lenient FHIR reader (service.fhir); documented as typed FHIR (bodies.py).
    medications: Annotated[dict[str, Any] | list[Any], WithJsonSchema(MEDICATIONS_SCHEMA)] = Field(
        description="FHIR Bundle, list of MedicationRequest/MedicationStatement, or one resource."
    )
    pace: PaceIn = Field(default_factory=PaceIn)
    start: date | None = Field(default=None, description="First step's date (default today).")
    floor_mg_per_day: float = Field(
        default=0, ge=0, allow_inf_nan=False, description="Agreed floor, mg OME/day."
    )
    patient: str | None = Field(
        default=None, max_length=200, description="e.g. Patient/123, for the CarePlan."
    )


class ProductOut(BaseModel):
    code: str
    name: str
    units_per_day: float = Field(description="Units used a day (patches: changes a day x worn).")
    at_once: float | None = Field(default=None, description="Patches worn at once.")
    change_every_hours: int | None = Field(
        default=None, description="Patches: hours between changes (72, 96, 168)."
    )


class StepMedicineOut(BaseModel):
    label: str
    amount: float
    unit: str
    ome_mg_per_day: float
    how: str
    instruction: str = Field(
        description="How to take it, naming the medicine (as the card's table says it)."
    )
    products: list[ProductOut]


class StepOut(BaseModel):
    number: int
    start: date
    total_ome_mg_per_day: float
    reduction_mg_per_day: float
    changed: str
    note: str = Field(
        description="Why this step waits longer than one interval, or is larger than the "
        "maximum step size (rules/taper.yaml); empty when it does neither."
    )
    medicines: list[StepMedicineOut]


class NotPlannedOut(BaseModel):
    label: str
    reason: str


class ReviewOut(BaseModel):
    start: date
    text: str


class PlanOut(BaseModel):
    pace: str
    floor_mg_per_day: float
    start_total_ome_mg_per_day: float
    final_total_ome_mg_per_day: float
    end_date: date
    order: list[str]
    not_planned: list[NotPlannedOut]
    steps: list[StepOut]
    review: ReviewOut | None = Field(
        description="A plan ending at an agreed floor: hold it and review from this date."
    )


class TaperResponse(BaseModel):
    plan: PlanOut
    not_checked: list[str] = Field(
        description="Parts of the input that could not be read (an OperationOutcome, a "
        "paginated list): a medicine may be missing from the plan."
    )
    care_plan: dict[str, Any] = Field(alias="carePlan", serialization_alias="carePlan")


@router.post("/taper", response_model_by_alias=True, responses=error_responses(400, 413))
def taper(
    body: Annotated[TaperRequest, Body(openapi_examples=TAPER_EXAMPLES)],
    pipeline: PipelineDep,
    now: NowDep,
) -> TaperResponse:
    """A tapering schedule for the patient's current opioids: each step's date, each
    medicine's daily dose and how to take it from real products, and the total OME."""
    check_resource_count(body.medications, "medications")
    record, _ = read_resources("taper", body.medications, "medications")
    return _respond(
        pipeline,
        record,
        body.pace,
        body.start or now.date(),
        body.floor_mg_per_day,
        body.patient,
        now.date(),
    )


@router.get(
    "/taper/plan",
    response_model=TaperResponse,
    response_model_by_alias=True,
    responses={
        200: {
            "description": "JSON by default; a page for a browser (`Accept: text/html`): the "
            "card's link opens where the prescriber reads it.",
            "content": {"text/html": {"schema": {"type": "string"}}},
        },
        **error_responses(400),
    },
)
def taper_plan(
    pipeline: PipelineDep,
    settings: SettingsDep,
    now: NowDep,
    ref: Annotated[
        str | None,
        Query(
            max_length=MAX_LINK_CHARS,
            description="The opaque reference a card's link carries: the regimen the card "
            "planned, encrypted (OPIOID_CDS_LINK_KEY), so no patient data is in the URL.",
        ),
    ] = None,
    item: Annotated[
        list[str] | None,
        Query(
            max_length=50,
            description="Development only (OPIOID_CDS_AUTH=off): the regimen in the clear, "
            "system|code|amount|unit[|prn][|every=<hours>h]: an amount per day "
            "(unit, mg, ml) or a patch's rate (microgram/hour), with the order's patch change "
            "interval if it stated one, e.g. dmd|36127311000001102|2|unit, "
            "dmd|36120311000001103|75|microgram/hour|every=72h",
        ),
    ] = None,
    start: date | None = None,
    reduction_percent: Annotated[float | None, Query(gt=0, le=100, allow_inf_nan=False)] = None,
    interval_days: Annotated[int | None, Query(ge=1, le=365)] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> TaperResponse | HTMLResponse:
    """The full plan behind a re-authorisation card's link (``ref``). A different pace may
    be asked for with ``reduction_percent`` and ``interval_days``. A browser gets it as a
    page (``Accept: text/html``); anything else gets JSON."""
    if ref is not None:
        query = pipeline.links.open(ref)
        if query is None:
            raise HookRequestError(
                "this plan link is not valid here: it was altered, or made by another "
                "deployment or before a restart without OPIOID_CDS_LINK_KEY; open the card again",
                "ref",
            )
        sealed = parse_qs(query)
        item = sealed.get("item", [])
        start = start or date.fromisoformat(sealed["start"][0])
    elif item is None:
        raise HookRequestError("give the plan link's ref", "ref")
    elif settings.auth != "off":
        # The clear form puts a regimen in URLs and access logs: development only.
        raise HookRequestError("the item form is for development only; use ref", "item")
    items = [_item_resource(text, i) for i, text in enumerate(item)]
    record, _ = read_resources("taper", items, "item")
    pace = PaceIn(reduction_percent=reduction_percent, interval_days=interval_days)
    response = _respond(pipeline, record, pace, start or now.date(), 0.0, None, now.date())
    if accept is not None and "text/html" in accept:
        return HTMLResponse(plan_page(response.model_dump(mode="json", by_alias=True)))
    return response


def _respond(
    pipeline: Pipeline,
    record: PatientRecord,
    pace_in: PaceIn,
    start: date,
    floor: float,
    patient: str | None,
    today: date,
) -> TaperResponse:
    if not record.history:
        raise HookRequestError(
            "no MedicationRequest or MedicationStatement to taper", "medications"
        )
    if abs((start - today).days) > _START_WINDOW_DAYS:
        raise HookRequestError(f"a plan starts within {_START_WINDOW_DAYS} days of today", "start")
    pace = _pace(pipeline, pace_in)
    regimen = pipeline.regimen(record, today)
    try:
        plan = pipeline.taper(regimen, start, pace, floor)
    except OverflowError:
        # Only a pace so slow that the plan would run past the year 9999 gets here.
        raise HookRequestError(
            "at this pace the plan would not end before the year 9999: choose a faster pace",
            "pace.reduction_percent",
        ) from None
    unidentified = {m.label for m in regimen.with_proposal if m.product is None}
    if not plan.steps[0].medicines and all(label in unidentified for label, _ in plan.not_planned):
        # Nothing identified to plan (an opioid already at or below the agreed floor is a
        # plan with no step, not this): name what could not be identified, if anything.
        why = "; ".join(f"{label}: {reason}" for label, reason in plan.not_planned)
        raise HookRequestError(
            "no current opioid to taper in the medications" + (f" ({why})" if why else ""),
            "medications",
        )
    return TaperResponse(
        plan=_plan_out(plan),
        not_checked=list(record.not_checked),
        carePlan=care_plan(plan, patient),
    )


def _pace(pipeline: Pipeline, p: PaceIn) -> Pace:
    settings = pipeline.taper_settings
    default = pipeline.default_pace()
    percent = p.reduction_percent or default.reduction_percent
    if percent > settings.max_reduction_percent:
        raise HookRequestError(
            f"a pace above {settings.max_reduction_percent:g}% of the starting dose per interval "
            "is outside rules/taper.yaml; a faster taper needs specialist advice",
            "pace.reduction_percent",
        )
    slower = (
        default.slower_below_percent is not None if p.slower_near_end is None else p.slower_near_end
    )
    return Pace(
        percent,
        p.interval_days or default.interval_days,
        settings.slower_below_percent if slower else None,
        settings.slower_fraction if slower else 1.0,
    )


def _item_resource(text: str, index: int) -> dict[str, Any]:
    parts = text.split("|")
    if len(parts) < 4 or len(parts) > 6 or parts[0] not in SYSTEMS:
        raise HookRequestError(
            "expected system|code|amount|unit[|prn][|every=<hours>h]", f"item[{index}]"
        )
    system, code, amount, unit = parts[:4]
    as_needed, every = False, None
    for extra in parts[4:]:
        interval = _EVERY.fullmatch(extra)
        if extra == "prn" and not as_needed:
            as_needed = True
        elif interval is not None and every is None and unit == "microgram/hour":
            every = int(interval.group(1))
        else:
            raise HookRequestError(
                "an extra part is neither prn nor a patch's every=<hours>h", f"item[{index}]"
            )
    values = [_positive(x, index) for x in amount.split("+")]
    units = {"unit": "{unit}", "mg": "mg", "ml": "mL", "microgram/hour": "ug/h"}
    if unit not in units:
        raise HookRequestError("unknown unit (unit, mg, ml, microgram/hour)", f"item[{index}]")
    dosage: dict[str, Any]
    if len(values) == 2 and unit == "mg":
        # An uneven twice-daily dose, morning+night, as the card planned it: written as a
        # dosage text so it is read as any prescriber's would be.
        dosage = {"text": f"{values[0]:g}mg in the morning and {values[1]:g}mg at night"}
    elif len(values) == 1:
        # A patch's rate with the order's change interval (every=72h), else once a day.
        period = {"period": every, "periodUnit": "h"} if every else {"period": 1, "periodUnit": "d"}
        dosage = {
            "timing": {"repeat": {"frequency": 1, **period}},
            "doseAndRate": [{"doseQuantity": {"value": values[0], "code": units[unit]}}],
        }
    else:
        raise HookRequestError("a split dose is morning+night in mg", f"item[{index}]")
    if as_needed:
        dosage["asNeededBoolean"] = True
    resource = {
        "resourceType": "MedicationRequest",
        "id": f"item-{index}",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": SYSTEMS[system], "code": code}]},
        "dosageInstruction": [dosage],
    }
    return resource


def _positive(amount: str, index: int) -> float:
    try:
        value = float(amount)
    except ValueError:
        raise HookRequestError("the amount is not a number", f"item[{index}]") from None
    if not math.isfinite(value) or value <= 0:
        raise HookRequestError("the amount is not a positive number", f"item[{index}]")
    return value


def _plan_out(plan: TaperPlan) -> PlanOut:
    return PlanOut(
        pace=plan.pace.describe(),
        floor_mg_per_day=plan.floor_mg_per_day,
        start_total_ome_mg_per_day=plan.steps[0].total_ome_mg_per_day,
        final_total_ome_mg_per_day=plan.final_total,
        end_date=plan.end_date,
        order=list(plan.order),
        not_planned=[NotPlannedOut(label=label, reason=why) for label, why in plan.not_planned],
        review=ReviewOut(start=plan.review[0], text=plan.review[1]) if plan.review else None,
        steps=[
            StepOut(
                number=s.number,
                start=s.start,
                total_ome_mg_per_day=s.total_ome_mg_per_day,
                reduction_mg_per_day=s.reduction_mg_per_day,
                changed=s.changed,
                note=s.note,
                medicines=[
                    StepMedicineOut(
                        label=m.label,
                        amount=round(m.amount, 4),
                        unit=m.unit,
                        ome_mg_per_day=m.ome_mg_per_day,
                        how=m.how,
                        instruction=named_how(m),
                        products=[
                            ProductOut(
                                code=p.code,
                                name=p.name,
                                units_per_day=round(m.option.units_per_day(p), 4),
                                at_once=p.units if m.option.change_hours else None,
                                change_every_hours=m.option.change_hours,
                            )
                            for p in m.option.parts
                        ],
                    )
                    for m in s.medicines
                ],
            )
            for s in plan.steps
        ],
    )
