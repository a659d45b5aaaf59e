"""From a validated ``HookRequest`` to the ``PatientRecord``: the hook's contract (which
context fields it needs, where its orders are), then the one record builder
(``service.fhir.patient_record.read_patient_record``).

Prefetch semantics ([SPEC2] Prefetch): a key that is **missing** was not satisfied; a key
that is **null** was satisfied and there is no data; a key holding an **OperationOutcome**
is a client-side error. Required data that is missing or in error, with no way to fetch it,
is a 412 ("the CDS Service SHALL respond with HTTP 412 Precondition Failed").

What is required depends on what is proposed: the current medicines matter only when a
proposed medicine is in scope (an opioid, gabapentinoid, benzodiazepine or Z-drug), which
the engine decides after identifying it; so this module records *why* the history is
unavailable and the engine raises the 412. Discharge checks need the discharge medicines
and fail here. Optional data that is missing is recorded in ``not_checked`` so the cards
can say what they could not check.

Prefetch key names are the service's own, but clients reuse their own names (the sandbox
sends ``meds``), so resources are read by resource type from every key.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from service.cds_hooks.models import MAX_ID_CHARS, HookRequest
from service.cds_hooks.services import (
    CONTRACTS,
    DISCHARGE_ORDERS_KEY,
    MEDICATION_HISTORY_KEYS,
    SERVICE_FOR_HOOK,
    SERVICE_HOOKS,
)
from service.errors import HookRequestError, PrefetchUnavailable, UnknownServiceError
from service.fhir.client import Fetched, FetchOutcome
from service.fhir.patient_record import OPTIONAL_DATA, PatientRecord, Sent, read_patient_record
from service.hooks import ENCOUNTER_DISCHARGE, ORDER_SELECT, PATIENT_VIEW

#: A hook name as the spec writes them (lower-case, hyphens): safe to repeat in an error.
_HOOK_NAME = re.compile(r"[a-z][a-z0-9-]{0,40}")


def check_service(service_id: str) -> frozenset[str]:
    """The hooks the service serves; 404 for an unknown id."""
    hooks = SERVICE_HOOKS.get(service_id)
    if hooks is None:
        # Never echo the id: the caller's own string (issue 12: 10,000 characters came back).
        raise UnknownServiceError("no CDS Service with this id (see GET /cds-services)", "path")
    return hooks


def check_service_and_hook(service_id: str, hook: str) -> None:
    hooks = check_service(service_id)
    if hook not in hooks:
        # Name the service that does serve the hook: a client configured before each hook
        # had its own id (issue 10) can be pointed at the right one.
        elsewhere = SERVICE_FOR_HOOK.get(hook)
        # The hook is named only when it is one we know (never the caller's own string).
        hint = f"; {hook} is served by {elsewhere!r}" if elsewhere else ""
        named = f"hook {hook!r}" if _HOOK_NAME.fullmatch(hook) else "this hook"
        raise HookRequestError(
            f"service {service_id!r} does not serve {named}; it serves "
            + ", ".join(sorted(hooks))
            + hint,
            "hook",
        )


def nothing_selected(service_id: str, request: HookRequest) -> bool:
    """An order-select fired before anything is drafted: ``selections`` is ``[]`` and
    ``draftOrders`` holds no entries. Clients fire order-select as the prescriber types
    ([LIB] order-select: "as a user selects"), so this is a normal call with nothing to check
    — answered ``{"cards": []}`` ([SPEC2] "no guidance"), not a 400 for empty fields."""
    check_service_and_hook(service_id, request.hook)
    if request.hook != ORDER_SELECT:
        return False
    context = request.context
    draft = context.get("draftOrders")
    return context.get("selections") == [] and (
        draft in ([], {})
        or (
            isinstance(draft, dict)
            and draft.get("resourceType") == "Bundle"
            and not draft.get("entry")
        )
    )


def check_context(service_id: str, request: HookRequest) -> None:
    """The service serves the hook and the context holds what the hook requires ([LIB]);
    checked before anything is fetched, so a bad request costs no FHIR query."""
    check_service_and_hook(service_id, request.hook)
    contract = CONTRACTS[request.hook]
    context = request.context
    for name in contract.required:
        if context.get(name) in (None, "", [], {}):
            raise HookRequestError(
                f"hook {request.hook} requires context.{name}", f"context.{name}"
            )
    for name in contract.string_fields:
        if name in context and not isinstance(context[name], str):
            raise HookRequestError("expected a string", f"context.{name}")
        if name in context and len(context[name]) > MAX_ID_CHARS:
            raise HookRequestError(f"longer than {MAX_ID_CHARS} characters", f"context.{name}")


def read_hook_input(
    service_id: str, request: HookRequest, fetch: FetchOutcome | None = None
) -> PatientRecord:
    """The record from the request's context and prefetch, and from what was fetched for the
    keys it did not prefetch (``fetch``: ``service.cds_hooks.fetch.fetch_missing``)."""
    check_context(service_id, request)
    contract = CONTRACTS[request.hook]
    context = request.context
    prefetch = request.prefetch or {}
    sent = [Sent(key, value, f"prefetch.{key}") for key, value in prefetch.items()]
    fetch = fetch or FetchOutcome()
    # Fetched results are parts like the prefetched ones, under the service's own key and
    # path (the prefetch template they answer), so the builder applies the same semantics:
    # a read that found nothing is null, a result that is only an OperationOutcome failed.
    fetched = {
        key: Sent(key, f.value, f"prefetch.{key}")
        for key, f in fetch.fetched.items()
        if f.error is None and key not in prefetch
    }
    errors = fetch.errors()
    orders = None
    if contract.orders_field is not None:
        field = contract.orders_field
        orders = Sent(field, context[field], f"context.{field}")
    while True:
        try:
            record = read_patient_record(
                request.hook,
                [*sent, *fetched.values()],
                orders=orders,
                proposed_key=_proposed_key(request.hook, orders),
                history_keys=MEDICATION_HISTORY_KEYS,
                expect=(
                    *OPTIONAL_DATA,
                    *(("encounter",) if request.hook == ENCOUNTER_DISCHARGE else ()),
                ),
                patient_id=context.get("patientId"),
                encounter_id=context.get("encounterId"),
                selections=_selections(context),
            )
            break
        except HookRequestError as exc:
            # FHIR the service fetched that cannot be read is the FHIR server's fault, not
            # the caller's: not a 400 but that key failing (412 for the medicines).
            bad = _fetched_key_at(exc.location, fetched)
            if bad is None:
                raise
            del fetched[bad]
            errors[bad] = "the FHIR server's answer could not be read as FHIR"
            fetch = replace(fetch, fetched={**fetch.fetched, bad: Fetched(bad, error=errors[bad])})
    record = _not_sent(record, prefetch, fetched)
    if request.hook == PATIENT_VIEW:
        _require_medicines_list(record, fetch, errors)
    elif orders is None and DISCHARGE_ORDERS_KEY not in record.available:
        raise PrefetchUnavailable(
            _unavailable_message((DISCHARGE_ORDERS_KEY,), record.failed, errors),
            "prefetch",
        )
    # Any part of the medicines list that could not be fetched leaves the list unknown, not
    # shorter: a proposed in-scope medicine then gets the 412 ([SPEC2] required data).
    fetch_failed = [k for k in MEDICATION_HISTORY_KEYS if k in fetch.fetched and k in errors]
    if record.history_unavailable is not None or fetch_failed:
        return replace(
            record,
            history_unavailable=_unavailable_message(
                MEDICATION_HISTORY_KEYS, record.failed, errors
            ),
        )
    # Optional data the service tried and failed to fetch: the cards say what and why.
    notes = tuple(
        f"{key} could not be fetched from the FHIR server: {errors[key]}"
        for key in fetch.fetched
        if key in errors and key not in MEDICATION_HISTORY_KEYS
    )
    return replace(record, not_checked=(*record.not_checked, *notes)) if notes else record


#: [SPEC2] Prefetch: a key that is missing was not satisfied. Without the prescriptions the
#: medicines list is unknown: a proposed in-scope medicine is then a 412, never evaluated
#: against "no medicines" (found by a new-user trial: a missing key read as an empty list
#: lost the gabapentinoid warning). MedicationStatement is not required: GP systems record
#: their medicines as prescriptions, and many send no statements.
_PRESCRIPTIONS = "medicationRequests"


def _not_sent(
    record: PatientRecord, prefetch: dict[str, Any], fetched: dict[str, Sent]
) -> PatientRecord:
    """The prescriptions count as sent under their own key, fetched, or when another key
    (a client's own name) held MedicationRequests."""
    if record.history_unavailable is not None:
        return record
    if (
        _PRESCRIPTIONS in prefetch
        or _PRESCRIPTIONS in fetched
        or any(m.resource_type == "MedicationRequest" for m in record.history)
    ):
        return record
    return replace(
        record,
        history_unavailable=f"prefetch.{_PRESCRIPTIONS} was not sent and could not be "
        "fetched: the patient's prescriptions are unknown",
    )


def _proposed_key(hook: str, orders: Sent | None) -> str | None:
    """Where the proposed medicines are when not in the context: the discharge medicines;
    at chart-open (patient-view) nothing is proposed."""
    return None if orders is not None or hook == PATIENT_VIEW else DISCHARGE_ORDERS_KEY


def _require_medicines_list(
    record: PatientRecord, fetch: FetchOutcome, errors: dict[str, str]
) -> None:
    """Chart-open review reads only what the patient already takes: without the medicines
    list there is nothing to review, and [SPEC2] asks for 412 when required prefetch is
    missing and cannot be fetched."""
    fetch_failed = [k for k in MEDICATION_HISTORY_KEYS if k in fetch.fetched and k in errors]
    if record.history_unavailable is not None or fetch_failed:
        raise PrefetchUnavailable(
            _unavailable_message(MEDICATION_HISTORY_KEYS, record.failed, errors), "prefetch"
        )


def _fetched_key_at(location: str | None, fetched: dict[str, Sent]) -> str | None:
    for key, part in fetched.items():
        if location is not None and (
            location == part.path or location.startswith((f"{part.path}.", f"{part.path}["))
        ):
            return key
    return None


def _selections(context: dict[str, Any]) -> tuple[str, ...]:
    value = context.get("selections")
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise HookRequestError("expected an array of 'Type/id' strings", "context.selections")
    return tuple(value)


def _unavailable_message(
    keys: tuple[str, ...],
    failed: frozenset[str] = frozenset(),
    errors: dict[str, str] | None = None,
) -> str:
    """What is missing and why, in the 412's diagnostics. Never quotes the request (no URL,
    no id, no token): the reasons are the service's own words."""
    what = "the discharge medicines" if keys == (DISCHARGE_ORDERS_KEY,) else "current medicines"
    outcomes = [f"prefetch.{k}" for k in keys if k in failed]
    if outcomes:
        # The client (or its FHIR server, when fetched) answered with an error: say which.
        return (
            f"{' and '.join(outcomes)} holds an OperationOutcome (the query failed), "
            f"so the {what} are unknown"
        )
    reasons = [f"prefetch.{k}: {(errors or {})[k]}" for k in keys if k in (errors or {})]
    if reasons:
        sent = " or ".join(f"prefetch.{k}" for k in keys)
        return (
            f"{sent} was not sent and could not be fetched ({'; '.join(reasons)}), so the "
            f"{what} are unknown"
        )
    names = " or ".join(f"prefetch.{k}" for k in keys)
    return (
        f"{names} was not sent (or holds an OperationOutcome) and no fhirServer access was "
        f"given, so the {what} are unknown"
    )
