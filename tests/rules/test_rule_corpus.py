"""The rule set as a whole: every rule has clinical vignettes with boundary pairs around every
parameter; every rule file is well-formed and cited; bad rule files stop the service at
start-up with an error naming the file and the field; and a deployment can switch a rule off
or move a threshold with settings alone.

Dates are fixed: the review check uses 2026-11-22, never the clock.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.cards.render import FINDINGS_EXTENSION
from service.cds_hooks.hook_input import read_hook_input
from service.cds_hooks.models import HookRequest
from service.config import Settings
from service.engine.evaluate import SEVERITY
from service.errors import ConfigurationError, RuleDefinitionError
from service.pipeline import Evaluation, Pipeline
from tests.scenarios.builder import hook_request

ROOT = Path(__file__).resolve().parents[2]
RULES_DIR = ROOT / "rules"
RECOMMENDATIONS = RULES_DIR / "recommendations"
SCENARIOS = ROOT / "tests" / "scenarios"
REVIEW_CHECKED_ON = date(2026, 11, 22)

RULE_FILES = sorted(RECOMMENDATIONS.glob("*.yaml"))
RULE_IDS = [p.stem for p in RULE_FILES]


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text("utf-8"))


SHARED: dict[str, dict[str, Any]] = _yaml(RULES_DIR / "parameters.yaml")["parameters"]


def _resolved(rule: dict[str, Any]) -> dict[str, Any]:
    """The rule as the loader reads it: ``{shared: name}`` parameters filled in from
    rules/parameters.yaml, so the corpus checks below see every parameter's unit and source."""
    parameters = {
        name: SHARED[p["shared"]] if set(p) == {"shared"} else p
        for name, p in (rule.get("parameters") or {}).items()
    }
    return {**rule, "parameters": parameters}


RULES: dict[str, dict[str, Any]] = {p.stem: _resolved(_yaml(p)) for p in RULE_FILES}


def _scenarios(rule_id: str) -> list[dict[str, Any]]:
    path = SCENARIOS / f"{rule_id}.yaml"
    if not path.exists():
        return []
    data = _yaml(path)
    assert data["rule"] == rule_id, f"{path.name} says rule {data['rule']!r}"
    scenarios: list[dict[str, Any]] = data["scenarios"]
    return scenarios


# ---------------------------------------------------------------------------------------
# The corpus of vignettes


def test_there_are_rules() -> None:
    assert len(RULE_IDS) >= 12


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_every_rule_has_vignettes_that_fire_and_stay_silent(rule_id: str) -> None:
    scenarios = _scenarios(rule_id)
    assert scenarios, f"no tests/scenarios/{rule_id}.yaml"
    expects = {s["expect"] for s in scenarios}
    assert expects <= {"fires", "silent"}, expects
    assert expects == {"fires", "silent"}, f"{rule_id}: needs both a fires and a silent vignette"
    assert any(s.get("http") for s in scenarios), f"{rule_id}: no vignette runs through HTTP"


@pytest.mark.parametrize(
    ("rule_id", "parameter"),
    [(r, p) for r in RULE_IDS for p in RULES[r].get("parameters") or {}],
)
def test_every_parameter_has_a_boundary_pair(rule_id: str, parameter: str) -> None:
    tagged = [s for s in _scenarios(rule_id) if s.get("boundary") == parameter]
    outcomes = {s["expect"] for s in tagged}
    # A parameter that only raises the card (card.critical_when) has its pair in the
    # indicator: both fire, one critical and one not.
    if outcomes == {"fires"} and len({s.get("indicator") for s in tagged}) >= 2:
        return
    assert outcomes == {"fires", "silent"}, (
        f"{rule_id}: parameter {parameter} needs a vignette at/just above it that fires and one "
        f"just below that stays silent, both tagged `boundary: {parameter}`"
    )


def test_every_scenario_file_is_for_a_rule_and_boundary_tags_name_parameters() -> None:
    for path in sorted(SCENARIOS.glob("*.yaml")):
        data = _yaml(path)
        assert path.stem in RULES, f"{path.name}: no rule {path.stem}"
        assert data["rule"] == path.stem
        parameters = RULES[path.stem].get("parameters") or {}
        for s in data["scenarios"]:
            if "boundary" in s:
                assert s["boundary"] in parameters, (path.name, s["name"], s["boundary"])


def test_scenario_names_are_unique() -> None:
    """A scenario's name seeds its hookInstance, and names the test."""
    names = [s["name"] for p in sorted(SCENARIOS.glob("*.yaml")) for s in _yaml(p)["scenarios"]]
    assert len(names) == len(set(names)), [n for n in names if names.count(n) > 1]


# ---------------------------------------------------------------------------------------
# The rule files themselves


def test_rule_ids_are_unique_and_equal_their_file_names() -> None:
    ids = [RULES[stem]["id"] for stem in RULE_IDS]
    assert ids == RULE_IDS
    assert len(set(ids)) == len(ids)


def _sources_of(rule: dict[str, Any]) -> list[tuple[str, str]]:
    out = [
        ("guideline.source", rule["guideline"]["source"]),
        ("card.source", rule["card"]["source"]),
    ]
    for name, p in (rule.get("parameters") or {}).items():
        out.append((f"parameters.{name}.source", p["source"]))
    return [(field, one.strip()) for field, ids in out for one in ids.split(";")]


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_every_source_id_resolves(rule_id: str) -> None:
    sources = _yaml(RULES_DIR / "sources.yaml")
    for field, source_id in _sources_of(RULES[rule_id]):
        assert source_id in sources, f"{rule_id}: {field} cites unknown source {source_id!r}"


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_every_parameter_has_a_unit(rule_id: str) -> None:
    for name, p in (RULES[rule_id].get("parameters") or {}).items():
        assert str(p.get("unit") or "").strip(), f"{rule_id}: parameter {name} has no unit"


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_no_rule_is_past_its_review_date(rule_id: str) -> None:
    review = RULES[rule_id]["review"]
    assert isinstance(review["next_review"], date)
    assert review["next_review"] >= REVIEW_CHECKED_ON, (
        f"{rule_id}: next review was due {review['next_review']}"
    )
    assert review["reviewed_on"] <= review["next_review"]


# ---------------------------------------------------------------------------------------
# The loader refuses bad rule files


def _good_rule(rule_id: str) -> dict[str, Any]:
    return {
        "id": rule_id,
        "version": "1.0.0",
        "status": "active",
        "title": "Test rule",
        "guideline": {"source": "opioids-aware-key-messages", "statement": "A statement."},
        "hooks": ["order-sign"],
        "parameters": {
            "threshold_mg_per_day": {
                "value": 120,
                "unit": "mg OME/day",
                "source": "medsip-opioids",
                "locator": "MedSIP",
            }
        },
        "inclusion": {
            "all": [
                {"fact": "proposed_opioid"},
                {"fact": "total_ome_with_proposal_mg_per_day", "at_least": "threshold_mg_per_day"},
            ]
        },
        "card": {
            "indicator": "warning",
            "summary": "Total {total_ome_with_proposal_mg_per_day} mg OME/day",
            "detail": "Detail.",
            "source": "opioids-aware-key-messages",
            "suggestions": ["refer-pain-pharmacist"],
            "override_reasons": ["specialist-plan"],
        },
        "review": {
            "authored_by": "test",
            "reviewed_on": "2026-11-22",
            "next_review": "2027-05-22",
        },
    }


def _condition(rule: dict[str, Any], index: int) -> dict[str, Any]:
    condition: dict[str, Any] = rule["inclusion"]["all"][index]
    return condition


def _set_unknown_fact(r: dict[str, Any]) -> None:
    _condition(r, 0)["fact"] = "opioid_dose_is_scary"


def _set_number_without_parameter(r: dict[str, Any]) -> None:
    del _condition(r, 1)["at_least"]


def _set_bare_number(r: dict[str, Any]) -> None:
    _condition(r, 1)["at_least"] = 120


def _set_unit_mismatch(r: dict[str, Any]) -> None:
    r["parameters"]["threshold_mg_per_day"]["unit"] = "mg/day"


def _set_unknown_guideline_source(r: dict[str, Any]) -> None:
    r["guideline"]["source"] = "nice-ng999"


def _set_unknown_parameter_source(r: dict[str, Any]) -> None:
    r["parameters"]["threshold_mg_per_day"]["source"] = "medsip-opioids;a-blog-post"


def _set_long_summary(r: dict[str, Any]) -> None:
    r["card"]["summary"] = "Opioids {opioid_names} with {sedative_names} and {gabapentinoid_names}"


def _set_unknown_suggestion(r: dict[str, Any]) -> None:
    r["card"]["suggestions"] = ["prescribe-naloxone"]


def _set_unknown_override_reason(r: dict[str, Any]) -> None:
    r["card"]["override_reasons"] = ["doctor-knows-best"]


def _set_unknown_placeholder(r: dict[str, Any]) -> None:
    r["card"]["detail"] = "The dose is {dose_in_words}."


def _set_critical_info_card(r: dict[str, Any]) -> None:
    r["card"]["indicator"] = "info"
    r["card"]["critical_when"] = {"fact": "sedative_in_regimen"}


def _set_critical_when_unknown_fact(r: dict[str, Any]) -> None:
    r["card"]["critical_when"] = {"fact": "very_dangerous"}


def _set_variant_unknown_placeholder(r: dict[str, Any]) -> None:
    r["card"]["variants"] = [
        {"when": {"fact": "opioid_new_start"}, "detail": "A new start at {dose_in_words}."}
    ]


def _set_link_for_an_unknown_ingredient(r: dict[str, Any]) -> None:
    r["card"]["links"] = [
        {"label": "A notice", "url": "https://example.org", "ingredient": "pregablin"}
    ]


def _set_empty_unit(r: dict[str, Any]) -> None:
    r["parameters"]["threshold_mg_per_day"]["unit"] = " "


def _set_wrong_id(r: dict[str, Any]) -> None:
    r["id"] = "some-other-rule"


def _set_unknown_shared_parameter(r: dict[str, Any]) -> None:
    r["parameters"]["threshold_mg_per_day"] = {"shared": "scary_dose_mg_per_day"}


def _set_shared_parameter_with_a_value(r: dict[str, Any]) -> None:
    r["parameters"]["threshold_mg_per_day"] = {"shared": "high_dose_mg_per_day", "value": 90}


def _set_shared_threshold_compared_the_other_way(r: dict[str, Any]) -> None:
    """The high-dose threshold is "at or above" everywhere; "above" would make a total of
    exactly the threshold high dose in one file and not in another."""
    r["parameters"]["threshold_mg_per_day"] = {"shared": "high_dose_mg_per_day"}
    del _condition(r, 1)["at_least"]
    _condition(r, 1)["above"] = "threshold_mg_per_day"


def _set_unknown_profile(r: dict[str, Any]) -> None:
    r["profiles"] = ["us-cdc-2016"]


def _set_unknown_profile_value(r: dict[str, Any]) -> None:
    r["parameters"]["threshold_mg_per_day"]["profile_values"] = {"uk-2030": 80}


def _set_long_variant_summary(r: dict[str, Any]) -> None:
    r["card"]["variants"] = [
        {"when": {"fact": "proposed_opioid"}, "summary": "x" * 140, "detail": "d"}
    ]


def _set_long_patient_view_summary(r: dict[str, Any]) -> None:
    r["patient_view"] = {
        "inclusion": {"fact": "opioid_in_regimen"},
        "summary": "Review {total_ome_current_mg_per_day} " + "x" * 130,
        "detail": "d",
    }


def _set_unknown_patient_view_suggestion(r: dict[str, Any]) -> None:
    r["patient_view"] = {
        "inclusion": {"fact": "opioid_in_regimen"},
        "summary": "Review",
        "detail": "d",
        "suggestions": ["book-a-review"],
    }


BAD_RULES: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    # Issue 17: profiles, profile values, card variants and patient-view prompts.
    ("unknown OME profile", _set_unknown_profile, "profiles", "unknown OME profile"),
    (
        "profile value for an unknown profile",
        _set_unknown_profile_value,
        "parameters.threshold_mg_per_day.profile_values",
        "uk-2030",
    ),
    ("variant summary over 139", _set_long_variant_summary, "card.variants[0].summary", "139"),
    (
        "patient-view summary over 139",
        _set_long_patient_view_summary,
        "patient_view.summary",
        "139",
    ),
    (
        "unknown patient-view suggestion",
        _set_unknown_patient_view_suggestion,
        "patient_view.suggestions",
        "book-a-review",
    ),
    # (case, mutation, field the error names (prefix), words in the problem)
    ("unknown fact", _set_unknown_fact, "inclusion.all[0].fact", "unknown fact"),
    (
        "number fact without a parameter",
        _set_number_without_parameter,
        "inclusion.all[1].fact",
        "compare it with a parameter",
    ),
    ("bare number instead of a parameter", _set_bare_number, "inclusion", "string"),
    (
        "parameter unit mismatch",
        _set_unit_mismatch,
        "parameters.threshold_mg_per_day.unit",
        "mg OME/day",
    ),
    (
        "unknown guideline source",
        _set_unknown_guideline_source,
        "guideline.source",
        "unknown source",
    ),
    (
        "unknown parameter source",
        _set_unknown_parameter_source,
        "parameters.threshold_mg_per_day.source",
        "a-blog-post",
    ),
    ("summary could exceed 139 characters", _set_long_summary, "card.summary", "139"),
    ("unknown suggestion", _set_unknown_suggestion, "card.suggestions", "prescribe-naloxone"),
    (
        "unknown override reason",
        _set_unknown_override_reason,
        "card.override_reasons",
        "doctor-knows-best",
    ),
    ("unknown placeholder", _set_unknown_placeholder, "card.detail", "dose_in_words"),
    ("critical_when on an info card", _set_critical_info_card, "card.critical_when", "info"),
    (
        "a link for a misspelt ingredient",
        _set_link_for_an_unknown_ingredient,
        "card.links[0].ingredient",
        "pregablin",
    ),
    (
        "critical_when naming an unknown fact",
        _set_critical_when_unknown_fact,
        "card.critical_when.fact",
        "unknown fact",
    ),
    (
        "unknown placeholder in a detail variant",
        _set_variant_unknown_placeholder,
        "card.variants[0].detail",
        "dose_in_words",
    ),
    ("parameter without a unit", _set_empty_unit, "parameters.threshold_mg_per_day.unit", "unit"),
    ("id not matching the file name", _set_wrong_id, "id", "file name"),
    (
        "unknown shared parameter",
        _set_unknown_shared_parameter,
        "parameters.threshold_mg_per_day",
        "scary_dose_mg_per_day",
    ),
    (
        "shared parameter given its own value",
        _set_shared_parameter_with_a_value,
        "parameters.threshold_mg_per_day",
        "nothing else",
    ),
    (
        "shared threshold compared with another comparison",
        _set_shared_threshold_compared_the_other_way,
        "inclusion.all[1].above",
        "one threshold, one meaning",
    ),
]


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(RULES_DIR, target)
    return target


def test_the_copied_rule_set_with_a_good_extra_rule_loads(rules_copy: Path) -> None:
    """The template the bad cases start from is itself valid."""
    path = rules_copy / "recommendations" / "test-extra-rule.yaml"
    path.write_text(yaml.safe_dump(_good_rule("test-extra-rule")), "utf-8")
    pipeline = Pipeline(Settings(rules_dir=rules_copy))
    assert "test-extra-rule" in [r.id for r in pipeline.rules]


@pytest.mark.parametrize(
    ("mutate", "field", "words"),
    [(m, f, w) for _, m, f, w in BAD_RULES],
    ids=[case for case, *_ in BAD_RULES],
)
def test_the_service_refuses_to_start_on_a_bad_rule_file(
    rules_copy: Path, mutate: Callable[[dict[str, Any]], None], field: str, words: str
) -> None:
    rule = _good_rule("test-bad-rule")
    mutate(rule)
    path = rules_copy / "recommendations" / "test-bad-rule.yaml"
    path.write_text(yaml.safe_dump(rule, sort_keys=False), "utf-8")
    with pytest.raises(RuleDefinitionError) as caught:
        Pipeline(Settings(rules_dir=rules_copy))
    error = caught.value
    assert error.file == str(path)
    assert error.field.startswith(field), error.field
    assert words in error.problem, error.problem
    assert "test-bad-rule.yaml" in str(error) and error.field in str(error)


def test_a_rule_file_that_is_not_yaml_is_refused(rules_copy: Path) -> None:
    path = rules_copy / "recommendations" / "broken.yaml"
    path.write_text("id: broken\ninclusion: [unclosed\n", "utf-8")
    with pytest.raises(RuleDefinitionError) as caught:
        Pipeline(Settings(rules_dir=rules_copy))
    assert caught.value.file == str(path)


# ---------------------------------------------------------------------------------------
# Deployment switches, without code


def _evaluate(pipeline: Pipeline, scenario: dict[str, Any]) -> Evaluation:
    service, body = hook_request(scenario, pipeline.dictionary)
    request = HookRequest.model_validate(body)
    record = read_hook_input(service, request)
    now = datetime.combine(scenario.get("today", date(2026, 11, 22)), time(12, 0), tzinfo=UTC)
    return pipeline.evaluate(record, now, request.hook_instance)


def _hundred_mg_vignette() -> dict[str, Any]:
    """Man on morphine MR 30mg twice daily (60 mg OME/day) prescribed immediate-release
    morphine 10mg four times daily (40): 100 mg OME/day."""
    return {
        "name": "100 mg OME/day vignette",
        "hook": "order-sign",
        "current": [
            {"product": "Morphine 30mg modified-release tablets", "sig": "one twice a day"},
        ],
        "proposed": [{"product": "Morphine 10mg tablets", "sig": "one four times a day"}],
    }


@pytest.fixture(scope="module")
def default_pipeline() -> Pipeline:
    return Pipeline(Settings())


def test_a_deployment_can_lower_the_high_dose_threshold(default_pipeline: Pipeline) -> None:
    vignette = _hundred_mg_vignette()
    before = _evaluate(default_pipeline, vignette)
    assert before.facts["total_ome_with_proposal_mg_per_day"] == 100.0
    assert "high-dose-risk-assessment" not in before.rule_ids

    lowered = Pipeline(
        Settings(
            rule_parameter_overrides={"high-dose-risk-assessment": {"threshold_mg_per_day": 90}}
        )
    )
    after = _evaluate(lowered, vignette)
    assert "high-dose-risk-assessment" in after.rule_ids
    section = next(s for s in after.sections if s.rule_id == "high-dose-risk-assessment")
    assert "at or above 90 mg" in section.summary
    # Only that rule moved: escalation keeps its own threshold of 120.
    rule = next(r for r in lowered.rules if r.id == "escalation")
    assert rule.parameters["threshold_mg_per_day"].value == 120


def test_the_boundary_moves_with_the_parameter(default_pipeline: Pipeline) -> None:
    """At 100 mg OME/day: fires with the threshold at 100, silent at 100.1."""
    vignette = _hundred_mg_vignette()
    for threshold, fires in ((100, True), (100.1, False)):
        pipeline = Pipeline(
            Settings(
                rule_parameter_overrides={
                    "high-dose-risk-assessment": {"threshold_mg_per_day": threshold}
                }
            )
        )
        assert ("high-dose-risk-assessment" in _evaluate(pipeline, vignette).rule_ids) is fires


def test_a_deployment_can_switch_a_rule_off(default_pipeline: Pipeline) -> None:
    vignette = _scenarios("high-dose-risk-assessment")[0]
    assert "high-dose-risk-assessment" in _evaluate(default_pipeline, vignette).rule_ids
    pipeline = Pipeline(Settings(disabled_rules=frozenset({"high-dose-risk-assessment"})))
    assert "high-dose-risk-assessment" not in [r.id for r in pipeline.rules]
    evaluation = _evaluate(pipeline, vignette)
    assert "high-dose-risk-assessment" not in evaluation.rule_ids
    assert "escalation" in evaluation.rule_ids  # the others still run


def test_naloxone_runs_by_default_under_the_cdc_profile_only() -> None:
    """Issue 17: a rule's ``profiles``; a UK deployment switches it on by settings alone."""
    uk = [r.id for r in Pipeline(Settings()).rules]
    us = [r.id for r in Pipeline(Settings(ome_profile="us-cdc-2022")).rules]
    switched_on = [r.id for r in Pipeline(Settings(enabled_rules=frozenset({"naloxone"}))).rules]
    assert "naloxone" not in uk
    assert "naloxone" in us
    assert "naloxone" in switched_on


def test_dose_tiers_are_the_profiles_values_and_an_override_still_wins() -> None:
    """UK: one tier at 120 (both parameters 120). us-cdc-2022: 50 and 90 (CDC REC04/05).
    A deployment's override of a shared value is not reset by the profile."""

    def tiers(settings: Settings) -> tuple[float, float]:
        rule = next(r for r in Pipeline(settings).rules if r.id == "high-dose-risk-assessment")
        p = rule.parameters
        return p["lower_tier_mg_per_day"].value, p["threshold_mg_per_day"].value

    assert tiers(Settings()) == (120, 120)
    assert tiers(Settings(ome_profile="us-cdc-2022")) == (50, 90)
    assert tiers(Settings(parameter_overrides={"dose_review_mg_per_day": 90})) == (90, 120)
    cdc_at_80 = Settings(
        ome_profile="us-cdc-2022", parameter_overrides={"high_dose_mg_per_day": 80}
    )
    assert tiers(cdc_at_80) == (50, 80)


def test_switches_can_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPIOID_CDS_DISABLED_RULES", '["long-term-use"]')
    monkeypatch.setenv(
        "OPIOID_CDS_RULE_PARAMETER_OVERRIDES", '{"discharge-supply-limit": {"max_supply_days": 5}}'
    )
    pipeline = Pipeline(Settings())
    ids = [r.id for r in pipeline.rules]
    assert "long-term-use" not in ids
    rule = next(r for r in pipeline.rules if r.id == "discharge-supply-limit")
    assert rule.parameters["max_supply_days"].value == 5


@pytest.mark.parametrize(
    "settings",
    [
        Settings(disabled_rules=frozenset({"no-such-rule"})),
        Settings(rule_parameter_overrides={"no-such-rule": {"threshold_mg_per_day": 90}}),
        Settings(rule_parameter_overrides={"escalation": {"threshold_mg": 90}}),
        Settings(enabled_rules=frozenset({"no-such-rule"})),
    ],
    ids=[
        "unknown rule switched off",
        "unknown rule overridden",
        "unknown parameter",
        "unknown rule switched on",
    ],
)
def test_settings_naming_unknown_rules_or_parameters_are_refused(settings: Settings) -> None:
    with pytest.raises(ConfigurationError):
        Pipeline(settings)


# ---------------------------------------------------------------------------------------
# Cards: one per concern, most severe first


def test_cards_are_one_per_concern_most_severe_first(default_pipeline: Pipeline) -> None:
    vignette = {
        "name": "many concerns at once",
        "hook": "order-sign",
        "current": [
            {"product": "Morphine 30mg modified-release tablets", "sig": "one twice a day"},
            {"product": "Pregabalin 150mg capsules", "sig": "one twice a day"},
            {"product": "Diazepam 5mg tablets", "sig": "one three times a day"},
            {"product": "Methadone 5mg tablets", "sig": "as directed"},
        ],
        "proposed": [
            {"product": "Oxycodone 20mg modified-release tablets", "sig": "one twice a day"}
        ],
    }
    evaluation = _evaluate(default_pipeline, vignette)
    assert set(evaluation.rule_ids) >= {
        "high-dose-risk-assessment",
        "escalation",
        "multiple-opioids",
        "opioid-gabapentinoid",
        "opioid-sedative",
        "unresolved-medicine",
    }
    assert len(evaluation.rule_ids) == len(set(evaluation.rule_ids))
    # One prompt, not six (issue 11): one warning card led by the most severe, most urgent
    # finding, the others one line each; the information findings on one card after it.
    # 120 mg OME/day with pregabalin and diazepam is the critical combination: it leads.
    severities = [SEVERITY[s.indicator] for s in evaluation.sections]
    assert severities == sorted(severities)
    assert evaluation.sections[0].rule_id == "opioid-sedative"
    assert evaluation.sections[0].indicator == "critical"
    priorities = {r.id: r.priority for r in default_pipeline.rules}
    warnings = [s.rule_id for s in evaluation.sections if s.indicator == "warning"]
    assert [priorities[r] for r in warnings] == sorted(priorities[r] for r in warnings)
    warnings.insert(0, "opioid-sedative")
    prompt, information = evaluation.cards
    assert (prompt.indicator, information.indicator) == ("critical", "info")
    assert prompt.source.topic is not None and prompt.source.topic.code == warnings[0]
    assert prompt.summary.endswith(f"(+{len(warnings) - 1} more)")
    assert prompt.extension is not None
    listed = [f["rule"] for f in prompt.extension[FINDINGS_EXTENSION]]
    assert listed == warnings
    labels = [s.label for s in prompt.suggestions or []]
    assert len(labels) == len(set(labels)), "each suggestion offered once"


def test_cards_shown_as_info_sort_after_warnings(rules_copy: Path) -> None:
    """Under cancer, co-prescribing cards are shown as info: they sort with the info cards,
    after any warning, whatever their priority."""
    rule = _good_rule("test-late-warning")
    rule["priority"] = 99
    rule["inclusion"] = {"fact": "proposed_opioid"}
    rule["card"]["summary"] = "A late warning"
    path = rules_copy / "recommendations" / "test-late-warning.yaml"
    path.write_text(yaml.safe_dump(rule, sort_keys=False), "utf-8")
    pipeline = Pipeline(Settings(rules_dir=rules_copy))
    vignette = {
        "name": "cancer patient on pregabalin prescribed codeine",
        "hook": "order-sign",
        "current": [{"product": "Pregabalin 150mg capsules", "sig": "one twice a day"}],
        "proposed": [{"product": "Codeine 30mg tablets", "sig": "one four times a day"}],
        "conditions": [{"snomed": 254637007, "text": "Non-small cell lung cancer"}],
    }
    evaluation = _evaluate(pipeline, vignette)
    assert evaluation.rule_ids == ["test-late-warning", "opioid-gabapentinoid"]
    assert [c.indicator for c in evaluation.cards] == ["warning", "info"]
    assert [c.source.topic.code for c in evaluation.cards if c.source.topic] == evaluation.rule_ids


ALL_SCENARIOS = [
    (p.stem, s) for p in sorted(SCENARIOS.glob("*.yaml")) for s in _yaml(p)["scenarios"]
]


def test_no_card_shows_an_unfilled_or_unknown_value(default_pipeline: Pipeline) -> None:
    """A fact that is unknown (None) must never reach a card as the word "None" (the
    escalation card once said "a rise of None%" for a first opioid), nor a placeholder stay
    unfilled."""
    for rule_id, scenario in ALL_SCENARIOS:
        for card in _evaluate(default_pipeline, scenario).cards:
            for text in (card.summary, card.detail or ""):
                assert "None" not in text, (rule_id, scenario["name"], text)
                assert not re.search(r"\{\w+\}", text), (rule_id, scenario["name"], text)


def test_a_shared_parameter_moves_every_file_that_uses_it(default_pipeline: Pipeline) -> None:
    """OPIOID_CDS_PARAMETER_OVERRIDES changes the high-dose threshold for every rule that
    refers to it and for the support tier at once: one number, one meaning."""
    vignette = _hundred_mg_vignette()
    lowered = Pipeline(Settings(parameter_overrides={"high_dose_mg_per_day": 90}))
    for rule_id in ("high-dose-risk-assessment", "escalation", "reauthorisation-taper"):
        rule = next(r for r in lowered.rules if r.id == rule_id)
        assert rule.parameters["threshold_mg_per_day"].value == 90
    assert lowered.stratifier.parameters["high_dose_mg_per_day"] == 90
    assert "Prescribed 90 mg OME/day or more" in lowered.stratifier.labels.values()
    after = _evaluate(lowered, vignette)
    assert "high-dose-risk-assessment" in after.rule_ids
    assert (
        after.facts["risk_factor_count"]
        == _evaluate(default_pipeline, vignette).facts["risk_factor_count"] + 1
    )  # the 100 mg total is now also the high-dose risk factor


def test_an_override_of_an_unknown_shared_parameter_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="scary_dose"):
        Pipeline(Settings(parameter_overrides={"scary_dose": 90}))


def test_no_rule_restates_a_shared_number() -> None:
    """A rule or the support-tier file that needs the high-dose threshold refers to it."""
    files = [*RULE_FILES, RULES_DIR / "stratification.yaml"]
    for path in files:
        for name, p in (_yaml(path).get("parameters") or {}).items():
            if p.get("unit") == SHARED["high_dose_mg_per_day"]["unit"]:
                assert set(p) == {"shared"}, f"{path.name}: {name} restates a shared threshold"


def test_a_missing_code_set_that_a_fact_reads_stops_start_up(rules_copy: Path) -> None:
    (rules_copy / "codesets" / "psychological.csv").unlink()
    with pytest.raises(ConfigurationError, match=r"psychological\.csv.*a fact reads it"):
        Pipeline(Settings(rules_dir=rules_copy))
