"""The service's one error hierarchy.

    ServiceError
    ├── ConfigurationError          the service refuses to start (bad rules/ or settings)
    │   └── ReferenceDataError      a file under rules/ is invalid: names file, field (and row)
    │       └── RuleDefinitionError a rule file (rules/recommendations/) is invalid
    └── RequestError                the caller sent something we cannot use (4xx)
        ├── HookRequestError        400: malformed JSON or a request that breaks the spec
        ├── UnknownServiceError     404: no CDS Service with that id
        ├── UnknownRuleError        404: no rule with that id (the rule workbench)
        ├── PrefetchUnavailable     412: required data neither prefetched nor fetchable
        └── NotAuthorised           401: no valid credential (details go to the log only)
            └── AdminRequired       401: reports, dashboard, workbench need the admin token

Request errors are rendered as a FHIR OperationOutcome (the CDS Hooks 3.0 ballot's
suggestion for non-2xx bodies). Each carries a stable ``code`` and a ``location`` (a
JSON path into the request), so a developer can see what to fix. Internal bugs are not
wrapped: they become a bare 500 with no patient data (see ``service.api.errors``).
Messages never contain tokens, JWTs or patient identifiers.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every error this service raises on purpose."""


class ConfigurationError(ServiceError):
    """The service cannot start with this configuration or content."""


class ReferenceDataError(ConfigurationError):
    """A file under ``rules/`` is unreadable or breaks its schema (``service.rulefiles``).

    ``field`` is a dotted path into a YAML file (``parameters.threshold_mg_per_day.unit``,
    ``profiles[0].prn.label``) or a CSV column; empty only when the whole file is at fault
    (unreadable, not YAML). ``row`` is the CSV line number (the header is line 1), else None.
    """

    def __init__(self, file: str, field: str, problem: str, *, row: int | None = None) -> None:
        self.file, self.field, self.problem, self.row = file, field, problem, row
        where = [f"row {row}"] if row is not None else []
        if field:
            where.append(f"field {field!r}")
        super().__init__(f"{file}: {', '.join(where) or 'the whole file'}: {problem}")


class RuleDefinitionError(ReferenceDataError):
    """A rule file (``rules/recommendations/<id>.yaml``) is invalid: names file, field and fix."""


class RequestError(ServiceError):
    """Something the caller must fix. Subclasses fix the HTTP status and code."""

    status_code = 400
    code = "invalid"

    def __init__(self, message: str, location: str | None = None) -> None:
        self.message = message
        self.location = location
        super().__init__(message)


class HookRequestError(RequestError):
    status_code = 400
    code = "invalid"


class UnknownServiceError(RequestError):
    status_code = 404
    code = "not-found"


class UnknownRuleError(RequestError):
    status_code = 404
    code = "not-found"


class PrefetchUnavailable(RequestError):
    """CDS Hooks 2.0.1: "the CDS Service SHALL respond with HTTP 412" when it cannot get data."""

    status_code = 412
    code = "processing"


class NotAuthorised(RequestError):
    """401 with ``WWW-Authenticate: Bearer``. The message is deliberately vague (an attacker
    learns nothing); the reason is logged, never the credential."""

    status_code = 401
    code = "login"

    def __init__(self, message: str = "A valid bearer token is required.") -> None:
        super().__init__(message)


class AdminRequired(NotAuthorised):
    def __init__(self) -> None:
        super().__init__("This endpoint needs the administrator's bearer token.")
