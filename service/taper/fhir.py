"""A tapering plan as a FHIR R4 CarePlan: one activity per product per step, with its
scheduled period and daily amount (a patch: its quantity for the step), so an EHR can show
or import the schedule."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from service.fhir.systems import DMD
from service.taper.from_regimen import named_how, pace_words, part_share
from service.taper.planner import TaperPlan


def care_plan(plan: TaperPlan, patient_reference: str | None = None) -> dict[str, Any]:
    activities: list[dict[str, Any]] = []
    steps = plan.steps
    for i, step in enumerate(steps[1:], start=1):
        end = steps[i + 1].start - timedelta(days=1) if i + 1 < len(steps) else None
        period = {"start": step.start.isoformat(), **({"end": end.isoformat()} if end else {})}
        for medicine in step.medicines:
            text = f"{named_how(medicine)} (total {step.total_ome_mg_per_day:g} mg OME/day)"
            if step.note and medicine.label == step.changed:
                text += f". This step {step.note}"
            option = medicine.option
            if not option.parts:  # "stop", "as now": no product to name
                activities.append({"detail": _detail(f"Step {step.number}: {text}", period)})
                continue
            for part in option.parts:
                # One activity per product, as the card's first-step orders are one order
                # per product (issue 18: a step of 20 + 10 micrograms/hour patches had no
                # product code or quantity).
                share = (
                    f"{part.name}, {part_share(option, part)}, as part of: "
                    if len(option.parts) > 1
                    else ""
                )
                detail = _detail(f"Step {step.number}: {share}{text}", period)
                detail["productCodeableConcept"] = {
                    "coding": [{"system": DMD, "code": part.code, "display": part.name}]
                }
                if option.change_hours is None:
                    detail["dailyAmount"] = {"value": part.units}
                elif end is not None:
                    # Patches are worn at once and changed every few days (the interval is
                    # in the description): not a daily amount but a quantity for the step.
                    days = (end - step.start).days + 1
                    detail["quantity"] = {"value": option.quantity(part, days)}
                activities.append({"detail": detail})
    if plan.review is not None:
        when, text = plan.review
        activities.append(
            {
                "detail": {
                    "kind": "Appointment",
                    "status": "not-started",
                    "scheduledPeriod": {"start": when.isoformat()},
                    "description": text[0].upper() + text[1:],
                }
            }
        )
    resource: dict[str, Any] = {
        "resourceType": "CarePlan",
        "status": "draft",
        "intent": "proposal",
        "title": "Opioid tapering plan",
        "description": f"Reduce by {pace_words(plan)}; agree the pace with the patient and "
        "share the plan with the practice team and the community pharmacy.",
        "subject": {"reference": patient_reference}
        if patient_reference
        else {"display": "Patient"},
        "period": {"start": steps[0].start.isoformat(), "end": plan.end_date.isoformat()},
    }
    if steps[0].note:
        # How an order was read (its patch change interval, issue 18): for the whole plan.
        resource["note"] = [{"text": steps[0].note}]
    if activities:  # FHIR JSON: an array is never empty (a plan with no step has none)
        resource["activity"] = activities
    return resource


def _detail(description: str, period: dict[str, str]) -> dict[str, Any]:
    return {
        "kind": "MedicationRequest",
        "status": "not-started",
        "scheduledPeriod": period,
        "description": description,
    }
