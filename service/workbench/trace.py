"""Explain: a hook request's cards and a trace of how they came about (issue 16 item 3).

The cards are the pipeline's own (``Pipeline.evaluate``, the path the CDS Service takes);
the trace adds the record as read, every fact's value and, for every running rule, the
engine's explanation (``service.engine.explain``). Only the workbench builds a trace: the
CDS Hooks endpoints never carry one.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from service.engine.explain import Decisive, explain
from service.fhir.patient_record import PatientRecord
from service.ome.calculate import MedicationOme
from service.ome.regimen import Regimen
from service.pipeline import Evaluation, Pipeline
from service.workbench.models import (
    DailyDoseOut,
    DecisiveOut,
    EvaluateOut,
    IngredientOut,
    MedicineTrace,
    Role,
    RuleTrace,
    Trace,
)


def evaluate_with_trace(
    pipeline: Pipeline, service_id: str, record: PatientRecord, now: datetime, hook_instance: UUID
) -> EvaluateOut:
    evaluation = pipeline.evaluate(record, now, hook_instance)
    return EvaluateOut(
        cards=evaluation.cards, trace=trace(pipeline, service_id, record, now, evaluation)
    )


def nothing_to_evaluate(
    pipeline: Pipeline, service_id: str, hook: str, now: datetime
) -> EvaluateOut:
    """An order-select with nothing selected: the service answers no cards without reading
    the record, and the trace says so."""
    return EvaluateOut(
        cards=[],
        trace=Trace(
            hook=hook,
            service=service_id,
            today=now.date(),
            profile=pipeline.profile_id,
            medicines=[],
            total_ome_current_mg_per_day=0.0,
            total_ome_with_proposal_mg_per_day=0.0,
            not_checked=[],
            facts={},
            rules=[],
            note="order-select with nothing selected: no rule is evaluated and no card given",
        ),
    )


def trace(
    pipeline: Pipeline,
    service_id: str,
    record: PatientRecord,
    now: datetime,
    evaluation: Evaluation,
) -> Trace:
    regimen = evaluation.regimen
    rules = []
    for rule in pipeline.rules_for(record.hook):
        why = explain(rule, evaluation.facts, record.hook)
        rules.append(
            RuleTrace(
                id=rule.id,
                fired=why.fired,
                outcome=why.outcome,
                failed=decisive_out(why.failed),
                exclusion=decisive_out(why.exclusion),
                indicator=why.indicator,
                criteria=list(why.criteria),
                shown_as_info_because=list(why.shown_as_info_because),
            )
        )
    return Trace(
        hook=record.hook,
        service=service_id,
        today=now.date(),
        profile=pipeline.profile_id,
        medicines=medicines(regimen),
        total_ome_current_mg_per_day=regimen.current_total,
        total_ome_with_proposal_mg_per_day=regimen.total_with_proposal,
        not_checked=list(record.not_checked),
        facts=dict(evaluation.facts),
        rules=rules,
    )


def decisive_out(d: Decisive | None) -> DecisiveOut | None:
    if d is None:
        return None
    return DecisiveOut(
        path=d.path,
        condition=d.condition,
        fact=d.fact,
        value=d.value,
        parameter=d.parameter,
        limit=d.limit,
    )


def medicines(regimen: Regimen) -> list[MedicineTrace]:
    replaced = {id(m) for m in regimen.replaced}
    rows = [_medicine(m, "proposed") for m in regimen.proposed]
    rows += [_medicine(m, "replaced" if id(m) in replaced else "current") for m in regimen.current]
    rows += [_medicine(m, "duplicate") for m in regimen.duplicates]
    rows += [_medicine(m, "not current") for m in regimen.not_current]
    return rows


def _medicine(m: MedicationOme, role: Role) -> MedicineTrace:
    product = m.identification.product
    daily = m.daily
    return MedicineTrace(
        role=role,
        name=m.label,
        path=m.record.path,
        identified_by=m.identification.how,
        product=product.name if product is not None else None,
        status=m.status.value,
        daily_dose=DailyDoseOut(
            amount=round(daily.amount, 4),
            unit=daily.unit,
            basis=daily.basis,
            as_needed=daily.as_needed,
            description=daily.description,
        )
        if daily is not None
        else None,
        ingredients=[
            IngredientOut(
                ingredient=i.ingredient,
                amount=round(i.amount, 4),
                amount_unit=i.amount_unit,
                factor=i.factor,
                ome_mg_per_day=i.ome_mg_per_day,
            )
            for i in m.ingredients
        ],
        ome_mg_per_day=m.ome_mg_per_day,
        explanation=m.explanation,
        reason=m.reason,
        flags=sorted(f.value for f in m.flags),
    )
