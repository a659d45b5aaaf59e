"""The interactive documentation, served with no network: Swagger UI and ReDoc assets come
from the installed ``fastapi-offline`` wheel (NHS networks often block the CDNs FastAPI's
default pages load them from), and the served OpenAPI document keeps its examples as
written.

FastAPI renders the document with ``exclude_none``, which also drops ``null`` inside example
values; a prefetch key sent as ``null`` means "the client has no data" ([SPEC2] Prefetch), so
without it the discharge example was a 412 when tried. The examples are put back from
``openapi/examples/`` after generation. FastAPI's 422 is never sent (``errors.py`` answers 400
with an OperationOutcome), so it is taken out of the document.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from service.api.bodies import FHIR_COMPONENTS
from service.api.examples import VALUES

ASSETS_URL = "/docs-assets"
_ASSETS_DIR = files("fastapi_offline") / "static"


def install(app: FastAPI) -> None:
    """``/docs`` (Swagger UI), ``/redoc`` and their assets; the app must be created with
    ``docs_url=None, redoc_url=None`` so FastAPI's CDN pages are not registered."""
    app.mount(ASSETS_URL, StaticFiles(directory=str(_ASSETS_DIR)), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            # The typed FHIR shapes the free-form bodies are documented with (bodies.py).
            document.setdefault("components", {}).setdefault("schemas", {}).update(FHIR_COMPONENTS)
            for operation in _operations(document):
                operation.get("responses", {}).pop("422", None)
                content = operation.get("requestBody", {}).get("content", {})
                for media in content.values():
                    for name, example in media.get("examples", {}).items():
                        if name in VALUES:
                            example["value"] = VALUES[name]
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [op for path in document.get("paths", {}).values() for op in path.values()]
