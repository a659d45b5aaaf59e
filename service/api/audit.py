"""The audit row of a hook call (issue 13), built from what the route saw and answered.

Kept: time, service, hook, hookInstance, the pseudonymous patient key, the organisation
(precedence: the client's identity from auth, then the request's PractitionerRole /
Organization, then Encounter; ``service.fhir.organisation``), current and proposed OME
totals, each card's findings (rule id and version) and suggestions, latency and status.
Never a name, a raw identifier or a token.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from service.cards.render import FINDINGS_EXTENSION, suggestion_uuid
from service.cds_hooks.models import Card, HookRequest
from service.config import Settings
from service.engine.definitions import RuleDefinition
from service.engine.snooze import SnoozeInForce
from service.errors import RequestError
from service.fhir.organisation import requesting_organisation
from service.pipeline import Evaluation
from service.storage.pseudonym import patient_key
from service.storage.records import HookCall, IssuedFinding, IssuedSuggestion, Snooze

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


@dataclass
class CallAudit:
    """Collects what one call's audit row needs while the route runs."""

    service_id: str
    request: HookRequest
    settings: Settings
    now: datetime
    #: The calling client's identity, when auth identified one (it outranks the request).
    client: str | None = None
    started: float = field(default_factory=time.perf_counter)
    patient_key: str | None = None
    extra_resources: list[Any] = field(default_factory=list)

    def patient(self, patient_id: str | None) -> str | None:
        """The pseudonymous key of the patient (None without a patient id or a key)."""
        secret = self.settings.pseudonym_key
        if patient_id and secret is not None:
            self.patient_key = patient_key(secret.get_secret_value(), patient_id)
        return self.patient_key

    def answered(self, evaluation: Evaluation, rules: Iterable[RuleDefinition]) -> HookCall:
        by_id = {r.id: r for r in rules}
        findings: list[IssuedFinding] = []
        suggestions: list[IssuedSuggestion] = []
        for card in evaluation.cards:
            listed = _listed(card)
            findings += [
                IssuedFinding(
                    card_uuid=str(card.uuid),
                    card_indicator=card.indicator,
                    position=i,
                    rule=str(f.get("rule")),
                    rule_version=str(f.get("version")),
                    indicator=str(f.get("indicator")),
                    snoozed=bool(f.get("snoozed")),
                )
                for i, f in enumerate(listed)
            ]
            suggestions += _suggestions(card, [by_id[r] for r in _rules(listed) if r in by_id])
        facts = evaluation.facts
        return self._row(
            200,
            None,
            current=_number(facts.get("total_ome_current_mg_per_day")),
            proposed=_number(facts.get("total_ome_with_proposal_mg_per_day")),
            findings=tuple(findings),
            suggestions=tuple(suggestions),
        )

    def empty(self) -> HookCall:
        """A call answered with no cards before evaluation (nothing selected)."""
        return self._row(200, None)

    def refused(self, exc: RequestError) -> HookCall:
        return self._row(exc.status_code, _CAMEL.sub("-", type(exc).__name__).lower())

    def _row(
        self,
        status: int,
        error_code: str | None,
        *,
        current: float | None = None,
        proposed: float | None = None,
        findings: tuple[IssuedFinding, ...] = (),
        suggestions: tuple[IssuedSuggestion, ...] = (),
    ) -> HookCall:
        organisation: tuple[str, str] | None = (
            (self.client, "client")
            if self.client
            else requesting_organisation(
                [*(self.request.prefetch or {}).values(), *self.extra_resources]
            )
        )
        return HookCall(
            id=str(uuid.uuid4()),
            recorded_at=self.now,
            # Cut to the columns' sizes (an unknown service or hook is refused, yet audited).
            service_id=self.service_id[:100],
            hook=self.request.hook[:100],
            hook_instance=str(self.request.hook_instance),
            patient_key=self.patient_key,
            organisation=organisation[0] if organisation else None,
            organisation_source=organisation[1] if organisation else None,
            client=self.client,
            current_ome_mg_per_day=current,
            proposed_ome_mg_per_day=proposed,
            status=status,
            error_code=error_code,
            latency_ms=round((time.perf_counter() - self.started) * 1000, 3),
            findings=findings,
            suggestions=suggestions,
        )


def unread_request(service_id: str, now: datetime) -> HookCall:
    """A service call refused before its body could be read (400: not JSON, or not a hook
    request): audited too, with what is known — the service, the time and the outcome."""
    return HookCall(
        id=str(uuid.uuid4()),
        recorded_at=now,
        service_id=service_id[:100],
        hook="",
        hook_instance="",
        patient_key=None,
        organisation=None,
        organisation_source=None,
        client=None,
        current_ome_mg_per_day=None,
        proposed_ome_mg_per_day=None,
        status=400,
        error_code="invalid-request",
        latency_ms=0.0,
    )


def engine_snoozes(snoozes: Mapping[str, Snooze]) -> dict[str, SnoozeInForce]:
    """Storage's snoozes as the engine takes them (plain data, as ``now`` is given)."""
    return {
        rule: SnoozeInForce(rule, s.recorded_at, s.until, s.reason_code)
        for rule, s in snoozes.items()
    }


def _listed(card: Card) -> list[dict[str, Any]]:
    listed = (card.extension or {}).get(FINDINGS_EXTENSION) or []
    return [f for f in listed if isinstance(f, dict)]


def _rules(listed: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(str(f.get("rule")) for f in listed))


def _suggestions(card: Card, rules: list[RuleDefinition]) -> list[IssuedSuggestion]:
    """Each suggestion with its kind (as the renderer made it, else recomputed from its
    uuid) and the rules that offered that kind; one row per such rule."""
    if card.uuid is None or not card.suggestions:
        return []
    kinds = list(dict.fromkeys(k for r in rules for k in r.card.suggestions))
    n = len(card.suggestions)
    kind_of: dict[UUID, str] | None = None
    out = []
    for s in card.suggestions:
        if s.kind is not None:  # the renderer's (a kind no rule of the card offers: none)
            kind = s.kind if s.kind in kinds and s.uuid else None
        else:  # a card not from the renderer: the kind from its uuid (ADR 0007)
            if kind_of is None:
                kind_of = {suggestion_uuid(card.uuid, k, i): k for k in kinds for i in range(n)}
            kind = kind_of.get(s.uuid) if s.uuid else None
        offered_by: list[str | None] = [r.id for r in rules if kind in r.card.suggestions]
        out += [IssuedSuggestion(str(card.uuid), str(s.uuid), kind, rule) for rule in offered_by]
    return out


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
