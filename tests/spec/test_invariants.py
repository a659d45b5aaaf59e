"""The spec's numbered invariants, each shown rejecting a bad example and accepting a good one."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from service.cds_hooks.models import (
    Action,
    Card,
    CdsServiceResponse,
    Feedback,
    FeedbackRequest,
    HookRequest,
    Link,
    OverrideReasonFeedback,
)
from tests.conftest import load_json, reference_path

SOURCE = {"label": "Opioids Aware"}


def card(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"summary": "s", "indicator": "warning", "source": SOURCE}
    base.update(overrides)
    return base


@pytest.mark.parametrize("name", ["response-example.json", "response-empty-cards.json"])
def test_spec_response_examples_are_valid(name: str) -> None:
    CdsServiceResponse.model_validate(load_json(reference_path("cds-hooks", "spec-2.0.1", name)))


def test_spec_autolaunchable_example_lacks_the_required_indicator() -> None:
    """The 2.0.1 text's autolaunchable example omits ``indicator``, which the same spec
    marks REQUIRED: we follow the requirement, not the example."""
    example = load_json(
        reference_path("cds-hooks", "spec-2.0.1", "response-autolaunchable-example.json")
    )
    with pytest.raises(ValidationError, match="indicator"):
        CdsServiceResponse.model_validate(example)


def test_inferno_valid_cards_are_valid_apart_from_their_non_uuid_ids() -> None:
    """Inferno's fixtures use ids like "jksfjuisldklsior"; the spec's logical model types
    card.uuid as uuid, and so do we (our own cards always carry real UUIDs)."""
    cards = load_json(reference_path("cds-hooks", "inferno-crd-test-kit", "valid_cards.json"))
    for c in cards:
        with pytest.raises(ValidationError, match="uuid"):
            Card.model_validate(c)
        Card.model_validate({k: v for k, v in c.items() if k != "uuid"})


def test_summary_of_139_characters_is_accepted_and_140_rejected() -> None:
    Card.model_validate(card(summary="x" * 139))
    with pytest.raises(ValidationError, match="139"):
        Card.model_validate(card(summary="x" * 140))


def test_indicator_must_be_info_warning_or_critical() -> None:
    Card.model_validate(card(indicator="critical"))
    with pytest.raises(ValidationError):
        Card.model_validate(card(indicator="hard-stop"))  # the obsolete pre-1.0 value


def test_source_label_is_required() -> None:
    with pytest.raises(ValidationError):
        Card.model_validate(card(source={"url": "https://example.org"}))


def test_cds_resp_1_at_most_one_recommended_suggestion() -> None:
    two = [{"label": "a", "isRecommended": True}, {"label": "b", "isRecommended": True}]
    Card.model_validate(card(suggestions=two, selectionBehavior="any"))
    with pytest.raises(ValidationError, match="cds-resp-1"):
        Card.model_validate(card(suggestions=two, selectionBehavior="at-most-one"))


def test_cds_resp_2_delete_needs_resource_id_and_no_resource() -> None:
    Action.model_validate(
        {"type": "delete", "description": "d", "resourceId": "MedicationRequest/1"}
    )
    with pytest.raises(ValidationError, match="cds-resp-2"):
        Action.model_validate(
            {"type": "delete", "description": "d", "resource": {"resourceType": "X", "id": "1"}}
        )


def test_create_and_update_need_the_resource() -> None:
    Action.model_validate({"type": "update", "description": "d", "resource": {"resourceType": "X"}})
    with pytest.raises(ValidationError, match="needs the resource"):
        Action.model_validate({"type": "update", "description": "d"})


def test_cds_resp_3_app_context_only_on_smart_links() -> None:
    Link.model_validate({"label": "l", "url": "https://a.org", "type": "smart", "appContext": "x"})
    with pytest.raises(ValidationError, match="cds-resp-3"):
        Link.model_validate(
            {"label": "l", "url": "https://a.org", "type": "absolute", "appContext": "x"}
        )


def test_cds_resp_4_override_reasons_need_display() -> None:
    good = {"system": "https://x.org", "code": "c", "display": "Reason"}
    Card.model_validate(card(overrideReasons=[good]))
    with pytest.raises(ValidationError):
        Card.model_validate(card(overrideReasons=[{"system": "https://x.org", "code": "c"}]))


def test_cds_resp_5_actions_need_description() -> None:
    with pytest.raises(ValidationError):
        Action.model_validate({"type": "create", "resource": {"resourceType": "X"}})


def test_cds_resp_6_suggestions_need_selection_behavior() -> None:
    Card.model_validate(card(suggestions=[{"label": "a"}], selectionBehavior="any"))
    with pytest.raises(ValidationError, match="cds-resp-6"):
        Card.model_validate(card(suggestions=[{"label": "a"}]))


def test_empty_and_null_fields_are_omitted_on_output_but_cards_kept() -> None:
    out = CdsServiceResponse(
        cards=[Card.model_validate(card(links=[], suggestions=None, detail=""))]
    ).model_dump(mode="json", by_alias=True, exclude_none=True)
    assert out == {"cards": [{"summary": "s", "indicator": "warning", "source": SOURCE}]}
    empty = CdsServiceResponse(cards=[]).model_dump(mode="json", by_alias=True, exclude_none=True)
    assert empty == {"cards": []}


FEEDBACK = {"card": str(uuid.uuid4()), "outcomeTimestamp": "2026-11-22T10:00:00Z"}


def test_cds_fb_1_outcome_is_accepted_or_overridden() -> None:
    with pytest.raises(ValidationError):
        Feedback.model_validate({**FEEDBACK, "outcome": "ignored"})


def test_cds_fb_2_accepted_needs_accepted_suggestions() -> None:
    Feedback.model_validate(
        {**FEEDBACK, "outcome": "accepted", "acceptedSuggestions": [{"id": str(uuid.uuid4())}]}
    )
    with pytest.raises(ValidationError, match="cds-fb-2"):
        Feedback.model_validate({**FEEDBACK, "outcome": "accepted"})


def test_cds_fb_3_override_reason_needs_reason_or_comment() -> None:
    Feedback.model_validate(
        {**FEEDBACK, "outcome": "overridden", "overrideReason": {"userComment": "c"}}
    )
    with pytest.raises(ValidationError, match="cds-fb-3"):
        OverrideReasonFeedback.model_validate({"reason": None, "userComment": None})


def test_feedback_needs_at_least_one_item() -> None:
    with pytest.raises(ValidationError):
        FeedbackRequest.model_validate({"feedback": []})


REQUEST = {
    "hook": "order-sign",
    "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
    "context": {"userId": "Practitioner/1", "patientId": "1", "draftOrders": {}},
}
AUTH = {
    "access_token": "secret-token",
    "token_type": "Bearer",
    "expires_in": 300,
    "scope": "patient/*.read",
    "subject": "cds-service",
    "patient": "1",
}


def test_cds_r_1_fhir_authorization_needs_fhir_server() -> None:
    HookRequest.model_validate(
        {**REQUEST, "fhirServer": "https://ehr.example.org/fhir", "fhirAuthorization": AUTH}
    )
    with pytest.raises(ValidationError, match="cds-r-1"):
        HookRequest.model_validate({**REQUEST, "fhirAuthorization": AUTH})


def test_hook_instance_must_be_a_uuid() -> None:
    bad = copy.deepcopy(REQUEST)
    bad["hookInstance"] = "not-a-uuid"
    with pytest.raises(ValidationError):
        HookRequest.model_validate(bad)


def test_access_token_is_never_in_the_model_repr() -> None:
    request = HookRequest.model_validate(
        {**REQUEST, "fhirServer": "https://ehr.example.org/fhir", "fhirAuthorization": AUTH}
    )
    assert "secret-token" not in repr(request)
    assert "secret-token" not in str(request.model_dump())
