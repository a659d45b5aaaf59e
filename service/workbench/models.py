"""The rule workbench's response models (issue 16): what ``/rules``, ``/facts``,
``/rules/evaluate`` and ``/rules/validate`` answer, typed for the OpenAPI document."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field

from service.cds_hooks.models import Card
from service.ome_report import MedicationOut

#: A fact's value: None means unknown (the data to decide it was not there).
FactValueOut = bool | int | float | str | None


class SourceOut(BaseModel):
    id: str
    title: str
    url: str
    label: str | None = None
    verified: Literal["primary", "secondary"]
    note: str | None = None


class OverrideOut(BaseModel):
    value: float = Field(description="The value this deployment uses instead of the file's.")
    setting: str = Field(description="The setting that changes it.")


class ParameterOut(BaseModel):
    name: str
    value: float = Field(description="The value the service uses (after any override).")
    unit: str
    source: list[str] = Field(description="Source ids (rules/sources.yaml).")
    locator: str
    alternatives: str | None = None
    shared: str | None = Field(
        default=None, description="The rules/parameters.yaml entry it stands for, if any."
    )
    file_value: float = Field(description="The value the rule files give.")
    override: OverrideOut | None = Field(
        default=None, description="This deployment's override, if any."
    )


class ReviewOut(BaseModel):
    authored_by: str
    reviewed_on: date
    next_review: date


class RuleSummary(BaseModel):
    id: str
    version: str
    status: Literal["draft", "active", "retired"]
    running: bool = Field(
        description="Whether the service evaluates it: active and not switched off by "
        "OPIOID_CDS_DISABLED_RULES."
    )
    title: str
    hooks: list[str]
    parameters: list[ParameterOut]
    inclusion: str = Field(description="The inclusion criteria in words.")
    exclusion: str | None = Field(description="The exclusion in words, if any.")
    info_when: str | None = Field(description="When the card is shown as info instead.")
    critical_when: str | None = Field(
        default=None,
        description="When the card is shown as critical instead (and info_when does not hold).",
    )
    indicator: Literal["info", "warning", "critical"]
    review: ReviewOut


class RuleDetail(RuleSummary):
    guideline: str = Field(description="The guideline's words.")
    summary: str = Field(description="The card summary template ({placeholders} filled).")
    detail: str
    suggestions: list[str]
    override_reasons: list[str]
    priority: int
    known_false_positives: list[str]
    sources: list[SourceOut] = Field(
        description="Every source the rule cites (guideline, card, parameters), resolved."
    )


class FactOut(BaseModel):
    name: str
    kind: Literal["bool", "number", "text"]
    unit: str | None
    meaning: str
    fact_set: str = Field(description="Which fact set computes it.")
    used_by: list[str] = Field(description="Ids of the rules whose criteria or card use it.")


Role = Literal["proposed", "current", "replaced", "duplicate", "not current"]


class MedicineTrace(MedicationOut):
    """A medicine as read: the /ome report's row (identification, daily dose, each opioid's
    factor and OME, status), with its role in this call and the dictionary's product."""

    role: Role = Field(
        description="proposed: in this order; current: counted before it; replaced: current "
        "but changed by the proposal; duplicate: recorded twice, counted once; not current: "
        "stopped or ended."
    )
    product: str | None = Field(description="The dictionary's product, when identified.")


class DecisiveOut(BaseModel):
    path: str = Field(description="Where it is in the rule file, e.g. inclusion.all[1].")
    condition: str = Field(description="The condition in words.")
    fact: str | None = None
    value: FactValueOut = Field(default=None, description="The fact's value; null: unknown.")
    parameter: str | None = None
    limit: float | None = None


class RuleTrace(BaseModel):
    id: str
    fired: bool
    outcome: Literal["fired", "hook not served", "inclusion not met", "excluded"]
    failed: DecisiveOut | None = Field(
        default=None, description="The first inclusion condition that did not hold."
    )
    exclusion: DecisiveOut | None = Field(
        default=None, description="The exclusion that held and kept the card back."
    )
    indicator: Literal["info", "warning", "critical"] | None = Field(
        default=None, description="The card's indicator when it fired."
    )
    criteria: list[str] = Field(
        default_factory=list, description="The criteria that held, when it fired."
    )
    shown_as_info_because: list[str] = Field(
        default_factory=list,
        description="The facts that made card.info_when hold (the card shown as info).",
    )


class Trace(BaseModel):
    hook: str
    service: str
    today: date
    profile: str = Field(description="The OME conversion profile used.")
    medicines: list[MedicineTrace] = Field(description="The patient's record as read.")
    total_ome_current_mg_per_day: float
    total_ome_with_proposal_mg_per_day: float
    not_checked: list[str] = Field(description="Parts of the input that could not be read.")
    facts: dict[str, FactValueOut] = Field(description="Every fact's value; null: unknown.")
    rules: list[RuleTrace] = Field(description="Every running rule, in file order.")
    note: str | None = Field(default=None, description="Why nothing was evaluated, if so.")


class EvaluateOut(BaseModel):
    cards: list[Card] = Field(description="The cards the CDS Service would return.")
    trace: Trace

    def to_json(self) -> dict[str, Any]:
        """Cards as the CDS Service sends them (camelCase, empties dropped); the trace with
        its nulls kept, since a null fact is "unknown", not absent."""
        return {
            "cards": [
                c.model_dump(mode="json", by_alias=True, exclude_none=True) for c in self.cards
            ],
            "trace": self.trace.model_dump(mode="json"),
        }


class ValidationIssue(BaseModel):
    path: str = Field(description="Where in the draft (a dotted path); empty: the whole body.")
    message: str


class ExampleOutcome(BaseModel):
    name: str
    fired: bool | None = Field(description="Null when the example could not be read.")
    outcome: str | None = None
    failed: DecisiveOut | None = None
    exclusion: DecisiveOut | None = None
    error: ValidationIssue | None = None


class ValidateOut(BaseModel):
    valid: bool
    errors: list[ValidationIssue]
    examples: list[ExampleOutcome] = Field(
        default_factory=list,
        description="For each example hook request sent beside the rule, whether the draft "
        "would fire on it and, if not, why not (only when the draft is valid).",
    )
