"""CDS Hooks 2.0.1 request and response models (https://cds-hooks.hl7.org/2.0/).

Names follow the specification exactly; Python attributes are snake_case with the spec's
camelCase as alias. The spec's machine-checkable invariants (HL7/cds-hooks
``input/fsh/invariants/``) are ``model_validator`` s named after their ids.

"Elements SHALL NOT be null or empty unless otherwise specified ... optional attributes
that have no value MUST be omitted" ([SPEC2] Use of JSON): every model drops ``None`` and
empty values on the way in, and routes serialise with ``exclude_none``, so nothing empty
goes out. The one exception, ``{"cards": []}``, is kept by ``CdsServiceResponse``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import (
    AnyUrl,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    WithJsonSchema,
    model_validator,
)
from pydantic.alias_generators import to_camel

from service.hooks import SUMMARY_MAX_CHARS

# Bounds on what a caller may send (issue 12 item 3): input validation, not clinical
# numbers. Each is far above what a real client sends for one patient, and each keeps a
# hostile body from making the service (or the feedback store) work or grow without end.
#: Feedback items in one request: one per card of a call, and a call has at most two cards.
MAX_FEEDBACK_ITEMS = 50
#: Suggestions accepted in one feedback item.
MAX_ACCEPTED_SUGGESTIONS = 50
#: Prefetch keys in one request (our services declare a handful).
MAX_PREFETCH_KEYS = 50
#: FHIR resources in one request: prefetch Bundles' entries and draft orders together.
MAX_RESOURCES_PER_REQUEST = 5_000
#: Any identifier-like string (hook, codes, ids) and free text (a user's comment).
MAX_ID_CHARS = 200
MAX_TEXT_CHARS = 2_000


# The OpenAPI schema of context and prefetch (issue 12 item 2): typed, so property-based
# testing sends FHIR-shaped data; read at run time by service.fhir, which alone parses FHIR.
# The Fhir* components are the typed FHIR subset of service/api/bodies.py (added to the
# document by service.api.docs).
_FHIR = "#/components/schemas/Fhir{}"
_ID = {"type": "string", "maxLength": MAX_ID_CHARS}
CONTEXT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "The hook's context fields ([LIB]); orders as a FHIR Bundle.",
    "properties": {
        "userId": _ID,
        "patientId": _ID,
        "encounterId": _ID,
        "selections": {"type": "array", "items": _ID, "maxItems": 100},
        "draftOrders": {"$ref": _FHIR.format("Bundle")},
        "medications": {"$ref": _FHIR.format("Bundle")},
    },
    "required": ["patientId"],
    "maxProperties": MAX_PREFETCH_KEYS,
}
PREFETCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Prefetched FHIR data by key; null: the client has no data.",
    "additionalProperties": {
        "anyOf": [
            {"$ref": _FHIR.format("Bundle")},
            {"$ref": _FHIR.format("MedicationResource")},
            {"$ref": _FHIR.format("OtherResource")},
            {"type": "null"},
        ]
    },
    "maxProperties": MAX_PREFETCH_KEYS,
}


def count_resources(value: Any) -> int:
    """Resources in a Bundle, a list of resources or one resource (nested Bundles counted
    by their entries); anything else counts 0. Used to bound a request, not to read it."""
    if isinstance(value, list):
        return sum(count_resources(v) for v in value)
    if not isinstance(value, dict):
        return 0
    if value.get("resourceType") == "Bundle" and isinstance(value.get("entry"), list):
        entries = value["entry"]
        return sum(
            count_resources(e.get("resource")) if isinstance(e, dict) else 0 for e in entries
        )
    return 1 if "resourceType" in value else 0


class WireModel(BaseModel):
    """Base for every CDS Hooks object: camelCase on the wire, empties dropped."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    #: Fields the spec allows to be empty (``cards``, discovery ``services``).
    keep_empty: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _drop_empty(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {
            k: v
            for k, v in data.items()
            if k in cls.keep_empty or not (v is None or v == "" or v == [] or v == {})
        }


class Coding(WireModel):
    """A FHIR Coding as CDS Hooks uses it (override reasons, source topic).

    ``prefetch`` values are not touched by the empty-dropping: a prefetch ``null`` means
    "satisfied, no data" and is kept as data inside ``HookRequest.prefetch``.
    """

    system: str | None = Field(default=None, max_length=MAX_TEXT_CHARS)
    code: str = Field(max_length=MAX_ID_CHARS)
    display: str | None = Field(default=None, max_length=MAX_TEXT_CHARS)


class Source(WireModel):
    label: str
    url: AnyUrl | None = None
    icon: AnyUrl | None = None
    topic: Coding | None = None


class Action(WireModel):
    type: Literal["create", "update", "delete"]
    description: str  # cds-resp-5: every suggestion action has a description
    resource: dict[str, Any] | None = None
    resource_id: str | None = None

    @model_validator(mode="after")
    def cds_resp_2(self) -> Action:
        """cds-resp-2: a delete names its target by ``resourceId`` and carries no resource;
        create and update carry the (whole) resource."""
        if self.type == "delete":
            if self.resource_id is None or self.resource is not None:
                raise ValueError("cds-resp-2: a delete action needs resourceId and no resource")
        elif self.resource is None:
            raise ValueError(f"a {self.type} action needs the resource")
        return self


class Suggestion(WireModel):
    label: str
    uuid: UUID | None = None
    is_recommended: bool | None = None
    actions: list[Action] | None = None
    #: The kind of suggestion the cards renderer made this as (never sent): the audit row
    #: takes it from here instead of working it out again from the uuid (issue 14).
    _kind: str | None = PrivateAttr(default=None)

    def as_kind(self, kind: str) -> Suggestion:
        self._kind = kind
        return self

    @property
    def kind(self) -> str | None:
        """The renderer's kind, when this suggestion came from it."""
        return self._kind


class Link(WireModel):
    label: str
    url: AnyUrl
    type: Literal["absolute", "smart"]
    app_context: str | None = None
    autolaunchable: bool | None = None

    @model_validator(mode="after")
    def cds_resp_3(self) -> Link:
        """cds-resp-3: appContext is only for SMART links."""
        if self.app_context is not None and self.type != "smart":
            raise ValueError("cds-resp-3: appContext is allowed only when type is 'smart'")
        return self


class OverrideReason(Coding):
    """cds-resp-4: every override reason has a display."""

    display: str


class Card(WireModel):
    uuid: UUID | None = None
    summary: str = Field(max_length=SUMMARY_MAX_CHARS)
    detail: str | None = None
    indicator: Literal["info", "warning", "critical"]
    source: Source
    suggestions: list[Suggestion] | None = None
    selection_behavior: Literal["at-most-one", "any"] | None = None
    override_reasons: list[OverrideReason] | None = None
    links: list[Link] | None = None
    #: [SPEC2] Extensions: an object with reverse-DNS keys; clients ignore what they do not
    #: know.
    extension: dict[str, Any] | None = None

    @model_validator(mode="after")
    def cds_resp_6(self) -> Card:
        """cds-resp-6: "If suggestions are present, selectionBehavior MUST also be provided."""
        if self.suggestions and self.selection_behavior is None:
            raise ValueError("cds-resp-6: suggestions need selectionBehavior")
        return self

    @model_validator(mode="after")
    def cds_resp_1(self) -> Card:
        """cds-resp-1: with at-most-one, at most one suggestion isRecommended."""
        if self.selection_behavior == "at-most-one" and self.suggestions:
            recommended = sum(1 for s in self.suggestions if s.is_recommended)
            if recommended > 1:
                raise ValueError("cds-resp-1: at-most-one allows one recommended suggestion")
        return self


class CdsServiceResponse(WireModel):
    """``{"cards": [...]}``; ``cards`` is required and may be empty ("no guidance")."""

    keep_empty: ClassVar[frozenset[str]] = frozenset({"cards"})

    cards: list[Card]
    system_actions: list[Action] | None = None


def response_json(cards: list[Card]) -> bytes:
    """The body of a service's answer, serialised once, as the route's response model would
    be (camelCase, nothing empty but ``cards``). The cards are already validated models:
    they are not validated again (pydantic does not revalidate instances)."""
    return (
        CdsServiceResponse(cards=cards).model_dump_json(by_alias=True, exclude_none=True).encode()
    )


class CdsService(WireModel):
    """One entry of the discovery response."""

    hook: str
    title: str | None = None
    description: str
    id: str
    prefetch: dict[str, str] | None = None
    usage_requirements: str | None = None


class Discovery(WireModel):
    keep_empty: ClassVar[frozenset[str]] = frozenset({"services"})

    services: list[CdsService]


class FhirAuthorization(BaseModel):
    """[SPEC2] "Passing the Access Token". The token is a secret: never logged or echoed."""

    model_config = ConfigDict(extra="allow")

    access_token: SecretStr
    token_type: Literal["Bearer"]
    expires_in: int
    scope: str
    subject: str
    patient: str | None = None


class HookRequest(WireModel):
    """The body of ``POST /cds-services/{id}``; ``context`` is checked per hook."""

    hook: str = Field(max_length=MAX_ID_CHARS)
    hook_instance: UUID
    fhir_server: AnyUrl | None = Field(default=None, max_length=MAX_TEXT_CHARS)
    fhir_authorization: FhirAuthorization | None = None
    context: Annotated[dict[str, Any], WithJsonSchema(CONTEXT_SCHEMA)] = Field(
        max_length=MAX_PREFETCH_KEYS
    )
    prefetch: Annotated[dict[str, Any] | None, WithJsonSchema(PREFETCH_SCHEMA)] = Field(
        default=None, max_length=MAX_PREFETCH_KEYS
    )
    extension: dict[str, Any] | None = None

    @model_validator(mode="after")
    def bounded(self) -> HookRequest:
        """At most MAX_RESOURCES_PER_REQUEST resources in context and prefetch together."""
        sent = count_resources(list(self.context.values()))
        sent += count_resources(list((self.prefetch or {}).values()))
        if sent > MAX_RESOURCES_PER_REQUEST:
            raise ValueError(f"more than {MAX_RESOURCES_PER_REQUEST} FHIR resources in one request")
        return self

    @model_validator(mode="after")
    def cds_r_1(self) -> HookRequest:
        """cds-r-1: fhirAuthorization requires fhirServer."""
        if self.fhir_authorization is not None and self.fhir_server is None:
            raise ValueError("cds-r-1: fhirAuthorization is present but fhirServer is not")
        return self


class AcceptedSuggestion(WireModel):
    id: UUID


class OverrideReasonFeedback(WireModel):
    """The user's reason; the sandbox sends ``reason`` without ``display``, so it is optional."""

    reason: Coding | None = None
    user_comment: str | None = Field(default=None, max_length=MAX_TEXT_CHARS)

    @model_validator(mode="after")
    def cds_fb_3(self) -> OverrideReasonFeedback:
        """cds-fb-3: an override reason has a reason or a user comment."""
        if self.reason is None and self.user_comment is None:
            raise ValueError("cds-fb-3: overrideReason needs reason or userComment")
        return self


class Feedback(WireModel):
    card: UUID
    outcome: Literal["accepted", "overridden"]  # cds-fb-1
    accepted_suggestions: list[AcceptedSuggestion] | None = Field(
        default=None, max_length=MAX_ACCEPTED_SUGGESTIONS
    )
    override_reason: OverrideReasonFeedback | None = None
    outcome_timestamp: datetime

    @model_validator(mode="after")
    def cds_fb_2(self) -> Feedback:
        """cds-fb-2: an accepted outcome lists the accepted suggestions."""
        if self.outcome == "accepted" and not self.accepted_suggestions:
            raise ValueError("cds-fb-2: outcome 'accepted' needs acceptedSuggestions")
        return self


class FeedbackRequest(WireModel):
    feedback: list[Feedback] = Field(min_length=1, max_length=MAX_FEEDBACK_ITEMS)
