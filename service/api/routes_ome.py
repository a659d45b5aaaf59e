"""``POST /ome``: total daily oral morphine equivalent of a list of FHIR medication resources."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError, WithJsonSchema

from service.api.bodies import OME_BODY_SCHEMA, OmeRequest, check_resource_count
from service.api.deps import NowDep, PipelineDep
from service.api.errors import error_responses
from service.api.examples import OME_EXAMPLES
from service.ome_report import OmeReport, ome_report

router = APIRouter(tags=["Oral morphine equivalent"])

ProfileQuery = Annotated[
    str | None,
    Query(
        description="OME profile: uk-opioids-aware (default) or us-cdc-2022. "
        "May also be given as `profile` in a wrapper object."
    ),
]


AsOfQuery = Annotated[
    date | None,
    Query(
        description="The date (YYYY-MM-DD) that decides what is current: a medicine stopped "
        "or ended before it is not counted. Default today. Find (`python -m service find "
        "--as-of`) gives the same totals for the same records and date."
    ),
]


@router.post("/ome", responses=error_responses(400, 413))
def calculate_ome(
    body: Annotated[
        dict[str, Any] | list[Any],
        Body(openapi_examples=OME_EXAMPLES),
        WithJsonSchema(OME_BODY_SCHEMA),
    ],
    pipeline: PipelineDep,
    now: NowDep,
    profile: ProfileQuery = None,
    as_of: AsOfQuery = None,
) -> OmeReport:
    """Compute each medicine's daily dose, conversion factor and OME/day, and the total.

    The body is a FHIR Bundle, a list of MedicationRequest / MedicationStatement resources,
    one resource, or ``{"medications": <any of those>, "profile": "..."}``. A medicine that
    cannot be identified or dosed is ``unresolved`` with its reason, never counted as 0.
    """
    value: Any = body
    if isinstance(body, dict) and "resourceType" not in body and "medications" in body:
        # The wrapper is the service's own: an unknown key is a 400, never ignored.
        try:
            wrapper = OmeRequest.model_validate(body)
        except ValidationError as error:
            raise RequestValidationError(
                [{**e, "loc": ("body", *e["loc"])} for e in error.errors()]
            ) from None
        value = wrapper.medications
        profile = profile or wrapper.profile
    elif isinstance(body, dict) and "resourceType" not in body:
        value = None  # no medications: ome_report says what to send
    check_resource_count(value, "medications")
    return ome_report(pipeline, value, profile, as_of or now.date())
