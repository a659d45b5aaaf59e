"""The service's one error hierarchy.

    ServiceError
    ├── ConfigurationError          the service refuses to start (bad rules/ or settings)
    │   ├── RuleDefinitionError     a rule file is invalid: names file, field and fix
    │   └── ReferenceDataError      a table under rules/ is invalid: names file, row and field
    └── RequestError                the caller sent something we cannot use (4xx)
        ├── HookRequestError        400: malformed JSON or a request that breaks the spec
        ├── UnknownServiceError     404: no CDS Service with that id
        └── PrefetchUnavailable     412: required data neither prefetched nor fetchable

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


class RuleDefinitionError(ConfigurationError):
    def __init__(self, file: str, field: str, problem: str) -> None:
        self.file, self.field, self.problem = file, field, problem
        super().__init__(f"{file}: {field}: {problem}")


class ReferenceDataError(ConfigurationError):
    def __init__(self, file: str, where: str, problem: str) -> None:
        self.file, self.where, self.problem = file, where, problem
        super().__init__(f"{file}: {where}: {problem}")


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


class PrefetchUnavailable(RequestError):
    """CDS Hooks 2.0.1: "the CDS Service SHALL respond with HTTP 412" when it cannot get data."""

    status_code = 412
    code = "processing"
