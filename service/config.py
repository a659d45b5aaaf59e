"""Deployment settings (pydantic-settings). Every field can be set by an environment
variable prefixed ``OPIOID_CDS_`` (e.g. ``OPIOID_CDS_OME_PROFILE=us-cdc-2022``).

Defaults are embedded so ``make run`` needs no external service.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OPIOID_CDS_", extra="ignore")

    rules_dir: Path = Field(
        default=REPO_ROOT / "rules",
        description="Folder of clinical content: tables, code sets, rule files.",
    )
    ome_profile: str | None = Field(
        default=None,
        description="OME conversion profile; None means the profile marked default in "
        "rules/ome/profiles.yaml (uk-opioids-aware).",
    )
    disabled_rules: frozenset[str] = Field(
        default=frozenset(),
        description="Rule ids to switch off in this deployment, without editing rules/.",
    )
    rule_parameter_overrides: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description='Per-rule parameter values, e.g. {"high-dose-risk-assessment": '
        '{"threshold_mg_per_day": 90}}; units are those the rule file declares.',
    )
    parameter_overrides: dict[str, float] = Field(
        default_factory=dict,
        description="Values for shared parameters (rules/parameters.yaml), for every file "
        'that uses them, e.g. {"high_dose_mg_per_day": 90}; units are those the file declares.',
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The service's own public URL, used in card links (e.g. the full "
        "tapering plan) and, later, to check JWT audiences behind a proxy.",
    )
    max_request_bytes: int = Field(
        default=5_000_000, description="Requests larger than this are refused with 413."
    )
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Worker processes of `python -m service serve` (uvicorn --workers): one "
        "per core. Each builds its own pipeline and keeps its own in-memory state (see "
        "docs/performance.md, Several workers).",
    )
    cors_allow_origins: list[str] = Field(
        default_factory=list,
        description="Browser origins allowed to call the service (CDS clients such as the "
        "sandbox); empty means no CORS headers.",
    )
    fhir_server_allowlist: list[str] = Field(
        default_factory=list,
        description="FHIR base URLs (JSON list) the service may fetch missing prefetch from, "
        "with the client's fhirAuthorization token; compared after normalising scheme, host, "
        "port and path. http:// only for loopback hosts. Empty means never fetch.",
    )
    fhir_timeout_seconds: float = Field(
        default=3.0, gt=0, le=60, description="Connect and read timeout of each FHIR request."
    )
    fetch_deadline_seconds: float = Field(
        default=5.0, gt=0, le=120, description="The whole fetch from fhirServer, every query."
    )
    auth: Literal["jwt", "off"] = Field(
        default="jwt",
        description="How CDS clients are trusted: 'jwt' (CDS Hooks 2.0 signed JWT, the "
        "default) or 'off' (development only: anyone who can reach the service may call it).",
    )
    admin_token: SecretStr | None = Field(
        default=None,
        description="Bearer token for the reports, dashboard and rule workbench. Unset: "
        "those endpoints are open only when auth is off.",
    )
