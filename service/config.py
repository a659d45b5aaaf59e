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
    enabled_rules: frozenset[str] = Field(
        default=frozenset(),
        description="Rule ids to switch on under an OME profile their rule file does not list "
        '(rule field `profiles`), e.g. ["naloxone"] under uk-opioids-aware.',
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
    # Storage (issue 13): audit, feedback and snoozes. See docs/storage.md.
    database_url: str = Field(
        default=f"sqlite:///{REPO_ROOT / 'var' / 'opioid-cds.db'}",
        description="SQLAlchemy URL of the database: the embedded SQLite file by default, or "
        "postgresql+psycopg://user@host/db. Migrations are applied at start-up.",
    )
    pseudonym_key: SecretStr | None = Field(
        default=None,
        description="Key of the HMAC-SHA256 that turns a patient id into the pseudonymous key "
        "stored in the audit and snoozes and written by Find (at least 32 characters; `make "
        "run` generates one in var/). Unset: nothing patient-linked is stored (no snoozes) and "
        "a warning is logged; Find uses a per-run key and says so.",
    )
    spool_path: Path = Field(
        default=REPO_ROOT / "var" / "storage-spool.jsonl",
        description="Local file that keeps audit and feedback rows while the database is "
        "down (fsynced before the response); replayed when it is back.",
    )
    database_retry_seconds: float = Field(
        default=5.0,
        ge=0,
        description="After the database fails, rows go straight to the spool for this long "
        "before it is tried again (an unreachable server must not slow every answer).",
    )
    retention_days: int = Field(
        default=2922,
        ge=1,
        description="`python -m service db purge` deletes audit and feedback rows older than "
        "this. Default 8 years, the NHS Records Management Code of Practice (2021) period "
        "for adult health records; the deployment's information governance decides.",
    )
    # Client trust (issue 12; [SPEC2] "Trusting CDS Clients", docs/adr/0008-client-trust.md).
    trusted_issuers_file: Path | None = Field(
        default=None,
        description="JSON (.json) or YAML (.yaml/.yml) file of the CDS clients trusted to call: "
        '{"issuers": [{"iss": "...", "jwks": {"keys": [...]}} | {"iss": "...", "jwks_file": '
        '"path"} | {"iss": "...", "jku": "https://..."}]}. Needed when auth is jwt.',
    )
    jwt_leeway_seconds: int = Field(
        default=60, ge=0, le=600, description="Clock skew allowed on a client JWT's exp and iat."
    )
    jwt_max_lifetime_seconds: int = Field(
        default=3600,
        ge=60,
        le=86_400,
        description="Longest a client JWT may live (exp - iat); bounds the jti replay cache "
        "([BP]: store jtis for the maximum token lifetime, at most an hour).",
    )
    jti_cache_size: int = Field(
        default=100_000,
        ge=100,
        le=10_000_000,
        description="Most jtis remembered (per process) while their tokens are valid; when "
        "full of live tokens a new token is refused (fail closed), never a jti forgotten.",
    )
    jku_timeout_seconds: float = Field(
        default=3.0, gt=0, le=30, description="Connect and read timeout fetching a client's jku."
    )
    jku_cache_seconds: int = Field(
        default=3600, ge=0, le=86_400, description="How long a fetched JWK Set is kept."
    )
    discovery_requires_auth: bool = Field(
        default=False,
        description="Also require a client JWT for discovery (aud {base}/cds-services); "
        "discovery holds no patient data, so it is open by default.",
    )
    link_key: SecretStr | None = Field(
        default=None,
        description="Secret (any string, 32+ characters) that encrypts the taper plan links on "
        "cards, so no patient data is in a URL. Unset: a random key per process (links do not "
        "survive a restart or span workers; a start-up warning says so).",
    )
