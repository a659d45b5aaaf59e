"""Application factory: ``uvicorn service.main:create_app --factory``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute

from service.api import docs, errors
from service.api.limits import BodySizeLimit
from service.api.review_memory import StoredReviewPromptMemory
from service.api.routes_cds import router as cds_router
from service.api.routes_health import router as health_router
from service.api.routes_ome import router as ome_router
from service.api.routes_reports import router as reports_router
from service.api.routes_rules import router as rules_router
from service.api.routes_taper import router as taper_router
from service.api.routes_tier import router as tier_router
from service.auth import ClientVerifier, load_issuers
from service.config import Settings
from service.pipeline import Pipeline
from service.storage.commands import database_name
from service.storage.pseudonym import MIN_KEY_CHARS
from service.storage.store import Storage
from service.workbench.catalogue import Catalogue

DESCRIPTION = """
Clinical decision support for opioid prescribing safety, as a
[CDS Hooks 2.0](https://cds-hooks.hl7.org/2.0/) service.

It computes a patient's total daily **oral morphine equivalent (OME)** and prompts the
prescriber when the dose is high or rising, when an opioid is co-prescribed with a
gabapentinoid or a benzodiazepine/Z-drug, and at re-authorisation offers a tapering plan.

This is decision *support*: it informs a prescriber's judgement and never replaces it.
Try the examples on each endpoint below.
"""


def _operation_id(route: APIRoute) -> str:
    """Stable operation ids (the committed openapi.json must not churn)."""
    return route.name


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Storage: pending migrations applied, the spool replayed (issue 13)."""
    storage: Storage = app.state.storage
    storage.open()
    yield
    storage.close()


def _trust(app: FastAPI, settings: Settings, log: logging.Logger) -> None:
    """Client trust (issue 12): the verifier, or a loud warning that anyone may call."""
    app.state.client_verifier = None
    if settings.auth == "off":
        log.warning(
            "AUTH IS OFF (OPIOID_CDS_AUTH=off): ANYONE WHO CAN REACH THIS SERVICE MAY CALL IT. "
            "Development only; never deploy like this."
        )
        return
    issuers = load_issuers(settings)
    if not issuers:
        log.warning(
            "auth is jwt but no trusted issuer is configured (OPIOID_CDS_TRUSTED_ISSUERS_FILE): "
            "every service call and feedback will be refused with 401"
        )
    app.state.client_verifier = ClientVerifier(issuers, settings)
    log.info("client JWT audiences are %s/cds-services/...", settings.public_base_url.rstrip("/"))


def _where_things_are(settings: Settings, log: logging.Logger) -> None:
    """Start-up says where the database is, where each key comes from and where the docs
    are (never a password or a key): a new user's first questions."""
    log.info("database: %s", database_name(settings.database_url))

    def source(value: object, variable: str, unset: str) -> str:
        return f"from the environment ({variable})" if value is not None else f"not set ({unset})"

    log.info(
        "keys: pseudonym key %s; link key %s; admin token %s",
        source(settings.pseudonym_key, "OPIOID_CDS_PSEUDONYM_KEY", "no patient-linked storage"),
        source(settings.link_key, "OPIOID_CDS_LINK_KEY", "a key of this process only"),
        source(
            settings.admin_token,
            "OPIOID_CDS_ADMIN_TOKEN",
            "reports open" if settings.auth == "off" else "reports closed",
        ),
    )
    base = settings.public_base_url.rstrip("/")
    log.info("API docs at %s/docs (try each endpoint there); dashboard at %s/dashboard", base, base)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = FastAPI(
        title="Opioid prescribing safety CDS Service",
        version="0.1.0",
        description=DESCRIPTION,
        generate_unique_id_function=_operation_id,
        docs_url=None,  # served from local assets by service.api.docs
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.pipeline = Pipeline(settings)
    app.state.rule_catalogue = Catalogue(app.state.pipeline)  # the rule workbench (issue 16)
    # Audit, feedback and snoozes. Nothing is opened here (``make openapi`` builds the app
    # without a database); the lifespan migrates, and a first write would too.
    app.state.storage = Storage(
        settings.database_url,
        settings.spool_path,
        app.state.pipeline.snooze_policy,
        retry_seconds=settings.database_retry_seconds,
    )
    # When a chart-open review prompt was last shown (issue 17), in the database: shared by
    # every worker and kept across restarts.
    app.state.review_prompt_memory = StoredReviewPromptMemory(app.state.storage)
    errors.install(app)
    docs.install(app)
    log = logging.getLogger("service.main")
    # Say at start-up who may call from a browser and where card links point: a developer
    # whose sandbox gets nothing, or whose links go to the wrong port, sees why here.
    if settings.cors_allow_origins:
        log.info("CORS: allowing origins %s", ", ".join(settings.cors_allow_origins))
    else:
        log.info("CORS: off (no browser origin may call; set OPIOID_CDS_CORS_ALLOW_ORIGINS)")
    log.info("card links use public base URL %s", settings.public_base_url)
    _where_things_are(settings, log)
    if settings.pseudonym_key is None:
        log.warning(
            "OPIOID_CDS_PSEUDONYM_KEY is not set: the audit keeps no patient key, snoozes "
            "are off and chart-open review prompts are not remembered (make run generates "
            "one in var/)"
        )
    elif len(settings.pseudonym_key.get_secret_value()) < MIN_KEY_CHARS:
        log.warning("OPIOID_CDS_PSEUDONYM_KEY is short: use at least %d characters", MIN_KEY_CHARS)
    _trust(app, settings, log)
    if settings.auth == "jwt" and settings.admin_token is None:
        log.warning(
            "OPIOID_CDS_ADMIN_TOKEN is not set and auth is jwt: reports, dashboard and rule "
            "workbench are closed (every request to them is refused with 401)"
        )
    if settings.link_key is None:
        log.warning(
            "OPIOID_CDS_LINK_KEY is not set: taper plan links on cards use a key of this process "
            "only, so they stop working after a restart and on other workers"
        )
    if settings.cors_allow_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_allow_origins,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(errors.CatchAll)  # outermost: every unexpected error (issue 12)
    app.include_router(cds_router)
    app.include_router(ome_router)
    app.include_router(health_router)
    app.include_router(taper_router)
    app.include_router(tier_router)
    app.include_router(rules_router)
    app.include_router(reports_router)
    return app
