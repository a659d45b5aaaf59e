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
from service.ome_report import medication_row
from service.pipeline import Evaluation, Pipeline
from service.workbench.models import (
    DecisiveOut,
    EvaluateOut,
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
    """The /ome report's row for the medicine (one way to say it), with its role."""
    counted = role in ("proposed", "current")
    row = medication_row(m, counted=counted, duplicate=role == "duplicate")
    product = m.identification.product
    return MedicineTrace(
        **row.model_dump(), role=role, product=product.name if product is not None else None
    )
