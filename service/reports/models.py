"""The reports' response shapes (documented with examples in docs/reports.md)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from service.reports.periods import PERIOD_WEEKS


class RuleCounts(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "rule": "high-dose-risk-assessment",
                    "fired": 12,
                    "snoozed": 3,
                    "accepted": 2,
                    "overridden": 7,
                    "override_reasons": {"risk-assessment-done": 5, "specialist-plan": 2},
                }
            ]
        }
    )

    rule: str = Field(description="The rule's id in rules/recommendations/.")
    fired: int = Field(description="Warnings (or critical cards) shown for the rule.")
    snoozed: int = Field(
        description="Findings shown as information instead, because a snooze was in force."
    )
    accepted: int = Field(description="Feedback items accepting a card that showed the rule.")
    overridden: int = Field(description="Feedback items overriding a card that showed the rule.")
    override_reasons: dict[str, int] = Field(
        description="Overrides by reason code (rules/override_reasons.yaml, or the code a "
        "client sent); overrides without a reason are counted in `overridden` only."
    )


class RulesReport(BaseModel):
    rules: list[RuleCounts] = Field(
        description="One entry per rule in rules/ (and per retired rule seen in the period), by id."
    )


class RulePeriod(BaseModel):
    start: date
    end: date = Field(description="Last day of the period, inclusive.")
    rules: list[RuleCounts]


class RulesOverTime(BaseModel):
    period_weeks: int = PERIOD_WEEKS
    periods: list[RulePeriod]


class OrganisationPeriod(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "organisation": "Y01234",
                    "start": "2026-09-28",
                    "end": "2026-11-22",
                    "calls": 40,
                    "patients_seen": 25,
                    "patients_high_dose": 6,
                    "patients_total_unknown": 1,
                    "patients_with_gabapentinoid": 3,
                    "patients_with_benzodiazepine_or_z_drug": 2,
                    "escalations": 4,
                    "high_dose_reauthorisations": 5,
                    "prompts_shown": 15,
                    "prompts_accepted": 3,
                    "prompts_overridden": 8,
                    "prompts_unanswered": 4,
                }
            ]
        }
    )

    organisation: str | None = Field(
        description="The organisation the calls identified; null for calls that named none."
    )
    start: date
    end: date = Field(description="Last day of the period, inclusive.")
    calls: int = Field(description="Hook calls recorded.")
    patients_seen: int = Field(description="Distinct patients (pseudonymous keys).")
    patients_high_dose: int = Field(
        description="Patients with a total (current, or with the proposal) at or above the "
        "high-dose threshold (`threshold_mg_per_day`)."
    )
    patients_total_unknown: int = Field(
        description="Patients not counted above whose total was unknown or understated in "
        "some call (a medicine unresolved or implausible): they may be at a high dose."
    )
    patients_with_gabapentinoid: int = Field(
        description="Patients shown the opioid-with-gabapentinoid finding."
    )
    patients_with_benzodiazepine_or_z_drug: int = Field(
        description="Patients shown the opioid-with-benzodiazepine-or-Z-drug finding."
    )
    escalations: int = Field(description="Calls showing the escalation finding.")
    high_dose_reauthorisations: int = Field(
        description="Calls showing the high-dose re-authorisation finding."
    )
    prompts_shown: int = Field(description="Cards shown with a warning (or critical) finding.")
    prompts_accepted: int = Field(description="Of those, cards with an accepted suggestion.")
    prompts_overridden: int = Field(description="Of those, cards overridden.")
    prompts_unanswered: int = Field(description="Of those, cards with no feedback.")


class OrganisationsReport(BaseModel):
    period_weeks: int = PERIOD_WEEKS
    threshold_mg_per_day: float = Field(
        description="The high-dose threshold in force (rules/parameters.yaml, "
        "high_dose_mg_per_day, or its deployment override)."
    )
    periods: list[OrganisationPeriod] = Field(
        description="One entry per organisation and period with at least one call."
    )


class OmeBin(BaseModel):
    from_mg: float = Field(description="Lower bound, inclusive (mg OME/day).")
    to_mg: float | None = Field(description="Upper bound, exclusive; null for the last bin.")
    patients: int


class OmeDistribution(BaseModel):
    threshold_mg_per_day: float
    bin_width_mg: float
    patients_flagged: int = Field(
        description="Patients shown at least one warning (or critical) finding."
    )
    patients_total_unknown: int = Field(
        description="Flagged patients with no complete total in the period (unknown, or "
        "understated because a medicine was unresolved): not in any bin."
    )
    bins: list[OmeBin] = Field(
        description="Flagged patients by the highest complete total of their flagged calls."
    )
