"""The pipeline (the composition root): built once at start-up from ``rules/``.

Holds every index (medicines dictionary, conversion factors, code sets, rules) so that no
file is read per request, and runs the pipeline: identify and dose each medicine → regimen →
facts → findings → cards. All clinical judgement is in the rule files and the facts.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any
from uuid import UUID

from service.auth.links import LinkSealer
from service.cards.naloxone import load_naloxone_order
from service.cards.render import RenderContext, Section, compose, render
from service.cards.suggestions import SUGGESTION_KINDS, SuggestionInput
from service.cds_hooks.models import Card
from service.config import Settings
from service.engine.definitions import RuleDefinition
from service.engine.evaluate import Finding, evaluate
from service.engine.loader import (
    check_link_ingredients,
    load_rules,
    load_shared_parameters,
    patient_view_rules,
)
from service.engine.snooze import SnoozeInForce, apply_snoozes, load_snooze_policy
from service.errors import ConfigurationError, PrefetchUnavailable
from service.facts import patient
from service.facts.catalogue import RECORD_FACTS
from service.facts.codesets import load_codesets
from service.facts.registry import FactCatalogue, FactValue, check_values
from service.facts.situation import Situation
from service.fhir.medication_record import MedicationConcept, MedicationRecord
from service.fhir.patient_record import PatientRecord
from service.hooks import PATIENT_VIEW
from service.medicines.dictionary import MedicinesDictionary
from service.medicines.identify import Identification, identify
from service.medicines.model import IngredientClass
from service.medicines.vocabulary import Vocabulary
from service.ome.calculate import MedicationOme, Plausibility, assess
from service.ome.factors import FactorTable, Profile
from service.ome.regimen import Regimen, build_regimen
from service.rulefiles import OverrideReasons, Sources
from service.stratify import Stratifier, SupportTier
from service.taper.from_regimen import first_step_actions, plan_for, plan_markdown, plan_query
from service.taper.planner import TaperPlan
from service.taper.settings import Pace, TaperSettings

log = logging.getLogger("service.pipeline")

#: Classes whose proposal needs the current medicines (412 without them). Naloxone alone is
#: the rescue medicine: prescribing it needs no medicines list.
_IN_SCOPE = tuple(
    c for c in IngredientClass if c not in (IngredientClass.OTHER, IngredientClass.NALOXONE)
)


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Everything one evaluation produced, for cards, the /ome report and audit."""

    regimen: Regimen
    facts: dict[str, FactValue]
    rule_ids: list[str]  # the rules that fired, most important first
    sections: list[Section]  # each finding in words, before composing
    cards: list[Card]


class Pipeline:
    def __init__(self, settings: Settings) -> None:
        rules_dir = settings.rules_dir
        self.settings = settings
        # Taper plan links carry the regimen sealed, never in the clear (issue 12 item 4).
        self.links = LinkSealer(settings.link_key)
        # The bibliography is read once and given to every loader, which checks each source
        # id it reads against it.
        self.sources = Sources.load(rules_dir)
        self.override_reasons = OverrideReasons.load(rules_dir)
        self.vocabulary = Vocabulary.load(rules_dir, self.sources)
        self.dictionary = MedicinesDictionary.load(rules_dir, self.sources, self.vocabulary)
        self.factors = FactorTable.load(
            rules_dir, self.sources, self.vocabulary.ingredients_of(IngredientClass.OPIOID)
        )
        profile_id = settings.ome_profile or self.factors.default_profile
        if profile_id not in self.factors.profiles():
            raise ConfigurationError(
                f"OME profile {profile_id!r} is not in rules/ome/profiles.yaml "
                f"(known: {', '.join(self.factors.profiles())})"
            )
        self.profile_id = profile_id
        # Identification is a pure function of the coded concept and the same codes recur in
        # every practice's requests: remember the answers (bounded) instead of recomputing.
        self.identify = lru_cache(maxsize=100_000)(self._identify_uncached)
        self.taper_settings = TaperSettings.load(rules_dir, self.sources)
        # Clinical numbers that several files use, defined once (rules/parameters.yaml).
        known_profiles = frozenset(self.factors.profiles())
        self.shared_parameters = load_shared_parameters(
            rules_dir,
            self.sources,
            settings.parameter_overrides,
            profile=profile_id,
            known_profiles=known_profiles,
        )
        self.stratifier = Stratifier.load(rules_dir, self.sources, self.shared_parameters)
        self.codesets = load_codesets(rules_dir / "codesets", self.sources, patient.CODESETS)
        # Facts are declared beside the code that computes them (service/facts/): the
        # record's facts first, then those the support-tier file defines over them.
        self.facts_catalogue = FactCatalogue(*RECORD_FACTS, self.stratifier.facts)
        self.stratifier.check(self.facts_catalogue)
        self.rules = load_rules(
            rules_dir,
            self.sources,
            self.override_reasons,
            SUGGESTION_KINDS,
            self.facts_catalogue,
            self.shared_parameters,
            disabled=settings.disabled_rules,
            overrides=settings.rule_parameter_overrides,
            profile=profile_id,
            known_profiles=known_profiles,
            enabled=settings.enabled_rules,
        )
        check_link_ingredients(self.rules, rules_dir, frozenset(self.vocabulary.ingredient_class))
        self.naloxone_order = load_naloxone_order(rules_dir, self.sources, profile_id)
        #: Chart-open review prompts (patient-view), derived from the rules (issue 17).
        self.review_rules = patient_view_rules(self.rules)
        # Which override reasons quiet which rule, and for how long (issue 13).
        self.snooze_policy = load_snooze_policy(
            rules_dir, self.sources, self.rules, settings.disabled_rules
        )
        self._shared_values = {n: p.value for n, p in self.shared_parameters.items()}
        # Ceilings past which arithmetic is a recording error, not a dose (issue 9 item 7).
        self.plausibility = Plausibility(
            max_administrations_per_day=self._shared_values["implausible_administrations_per_day"],
            max_ome_mg_per_day=self._shared_values["implausible_total_mg_per_day"],
        )
        # Every declared fact is computed, and of its declared kind, on an empty record.
        empty = PatientRecord("start-up", None, (), ())
        check_values(
            self.facts(empty, build_regimen((), (), date.min), date.min), self.facts_catalogue
        )

    def _identify_uncached(self, concept: MedicationConcept | None) -> Identification:
        return identify(concept, self.dictionary)

    def profile(self, profile_id: str | None = None) -> Profile:
        return self.factors.profile(profile_id or self.profile_id)

    def assess_all(
        self, records: tuple[MedicationRecord, ...], profile: Profile
    ) -> tuple[MedicationOme, ...]:
        return tuple(
            assess(r, self.identify(r.medication), self.factors, profile, self.plausibility)
            for r in records
        )

    def regimen(
        self, record: PatientRecord, today: date, profile: Profile | None = None
    ) -> Regimen:
        profile = profile or self.profile()
        return build_regimen(
            self.assess_all(record.proposed, profile),
            self.assess_all(record.history, profile),
            today,
            self.plausibility.max_ome_mg_per_day,
        )

    def facts(self, record: PatientRecord, regimen: Regimen, today: date) -> dict[str, FactValue]:
        """Every fact, computed in order: each fact set may read the facts before it."""
        situation = Situation(record, regimen, today, self.codesets, self._shared_values)
        facts: dict[str, FactValue] = {}
        for fact_set in RECORD_FACTS:
            facts.update(fact_set.compute(situation))
        facts.update(self.stratifier.facts.compute(facts))
        return facts

    def review_prompt_due(self, last_shown: datetime | None, now: datetime) -> bool:
        """Whether a chart-open review prompt may be shown: none was shown for this patient
        within ``review_prompt_interval_days`` (rules/parameters.yaml). At exactly the
        interval it is due again."""
        interval = timedelta(days=self._shared_values["review_prompt_interval_days"])
        return last_shown is None or now - last_shown >= interval

    def rules_for(self, hook: str) -> tuple[RuleDefinition, ...]:
        """The rules a hook is evaluated with: chart-open has its review rules (issue 17)."""
        return self.review_rules if hook == PATIENT_VIEW else self.rules

    def evaluate(
        self,
        record: PatientRecord,
        now: datetime,
        hook_instance: UUID,
        snoozes: Mapping[str, SnoozeInForce] | None = None,
        last_review_prompt_at: datetime | None = None,
    ) -> Evaluation:
        """``snoozes``: those in force for this patient, by rule (read from storage by the
        route): each turns its rule's warning into information. ``last_review_prompt_at``:
        when a review prompt was last shown for this patient (patient-view only; plain data
        from the route's memory, issue 17)."""
        today = now.date()
        regimen = self.regimen(record, today)
        if record.history_unavailable is not None and any(
            m.product is not None and any(m.product.has_class(c) for c in _IN_SCOPE)
            for m in regimen.proposed
        ):
            raise PrefetchUnavailable(record.history_unavailable, "prefetch")
        facts = self.facts(record, regimen, today)
        if record.hook == PATIENT_VIEW and not self.review_prompt_due(last_review_prompt_at, now):
            findings = []
        else:
            findings = evaluate(self.rules_for(record.hook), facts, record.hook)
            findings = apply_snoozes(findings, snoozes or {})
        extra, taper_actions = self._card_extras(findings, regimen, facts, today)
        ctx = RenderContext(
            hook_instance=hook_instance,
            facts_catalogue=self.facts_catalogue,
            regimen=regimen,
            facts=facts,
            sources=self.sources,
            override_reasons=self.override_reasons,
            profile_id=self.profile_id,
            not_checked=record.not_checked,
            suggestion_input=SuggestionInput(
                record, regimen, record.patient_id, tuple(taper_actions), self.naloxone_order
            ),
            extra_detail=extra,
        )
        sections = [render(f, ctx) for f in findings]
        cards = compose(sections, ctx)
        rule_ids = [f.rule.id for f in findings]
        # One structured line per evaluation, keyed by hookInstance for correlation with the
        # client's logs and the feedback (issue 12 item 4): rule ids and counts only, never
        # patient data (DEVELOPERS.md, Privacy).
        log.info(
            "evaluated hookInstance=%s hook=%s rules=%s cards=%d",
            hook_instance,
            record.hook,
            ",".join(rule_ids) or "-",
            len(cards),
        )
        return Evaluation(regimen, facts, rule_ids, sections, cards)

    def _card_extras(
        self,
        findings: list[Finding],
        regimen: Regimen,
        facts: dict[str, FactValue],
        today: date,
    ) -> tuple[dict[str, str], list[dict[str, Any]]]:
        """Extra detail by rule id (support tier, first taper steps with a link to the full
        plan) and the first taper step as actions — computed only for cards that show them."""
        extra: dict[str, str] = {}
        showing_tier = [f.rule.id for f in findings if f.rule.card.show_support_tier]
        tier = self.stratifier.tier(facts) if showing_tier else None
        if tier is not None:
            extra.update(dict.fromkeys(showing_tier, tier.markdown()))
        tapering = [f.rule.id for f in findings if "taper-first-step" in f.rule.card.suggestions]
        if not tapering:
            return extra, []
        plan = self.taper(regimen, today)
        if len(plan.steps) <= 1:
            return extra, []
        sealed = self.links.seal(plan_query(regimen.with_proposal, today))
        link = f"{self.settings.public_base_url}/taper/plan?ref={sealed}"
        markdown = plan_markdown(plan) + f"\n\n[The full plan]({link})"
        for rule_id in tapering:
            extra[rule_id] = "\n\n".join(x for x in (extra.get(rule_id), markdown) if x)
        return extra, first_step_actions(plan, regimen.proposed)

    def taper(
        self,
        regimen: Regimen,
        start: date,
        pace: Pace | None = None,
        floor_mg_per_day: float = 0.0,
    ) -> TaperPlan:
        return plan_for(
            regimen.with_proposal,
            pace or self.default_pace(),
            start,
            self.dictionary,
            self.taper_settings,
            floor_mg_per_day=floor_mg_per_day,
        )

    def default_pace(self) -> Pace:
        t = self.taper_settings
        if not t.slower_by_default:
            return t.default_pace
        return Pace(
            t.default_pace.reduction_percent,
            t.default_pace.interval_days,
            t.slower_below_percent,
            t.slower_fraction,
        )

    def support_tier(
        self, record: PatientRecord, today: date
    ) -> tuple[SupportTier | None, Regimen]:
        regimen = self.regimen(record, today)
        return self.stratifier.tier(self.facts(record, regimen, today)), regimen

    def cards(
        self,
        record: PatientRecord,
        now: datetime,
        hook_instance: UUID,
        last_review_prompt_at: datetime | None = None,
    ) -> list[Card]:
        return self.evaluate(
            record, now, hook_instance, last_review_prompt_at=last_review_prompt_at
        ).cards
