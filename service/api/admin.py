"""Who may read the reports, the dashboard and the rule workbench (issues 13 and 16).

With ``OPIOID_CDS_ADMIN_TOKEN`` set, a request needs ``Authorization: Bearer <token>``
(compared in constant time). Unset, these endpoints are open only when client trust is off
(a developer's machine); with ``auth=jwt`` and no admin token they are closed, so a
production deployment never exposes them by forgetting a setting.
"""

from __future__ import annotations

import hmac
import logging
from typing import Annotated

from fastapi import Depends, Header
from fastapi.security import HTTPBearer

from service.api.deps import SettingsDep
from service.errors import AdminRequired

log = logging.getLogger("service.api")

# Documents the scheme in the OpenAPI document only; the header is read and compared below
# (auto_error=False: a missing or malformed header must be our 401 with WWW-Authenticate,
# not FastAPI's own error).
_admin_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="adminToken",
    description="The administrator's bearer token (OPIOID_CDS_ADMIN_TOKEN) for the reports, "
    "the dashboard and the rule workbench. Not needed when the service runs with auth off "
    "and no admin token.",
)


def require_admin(
    settings: SettingsDep,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
    _: Annotated[object, Depends(_admin_bearer)] = None,
) -> None:
    expected = settings.admin_token
    if expected is None:
        if settings.auth == "off":
            return
        log.warning("admin endpoint refused: OPIOID_CDS_ADMIN_TOKEN is not set and auth is on")
        raise AdminRequired()
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.strip().encode(), expected.get_secret_value().encode()
    ):
        # The reason only; never the token (DEVELOPERS.md, Privacy).
        log.warning("admin endpoint refused: missing or wrong admin bearer token")
        raise AdminRequired()


AdminDep = Annotated[None, Depends(require_admin)]
