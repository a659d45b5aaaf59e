"""The trusted issuers file and each issuer's keys.

``OPIOID_CDS_TRUSTED_ISSUERS_FILE`` is JSON (``.json``) or YAML (``.yaml``/``.yml``)::

    {"issuers": [{"iss": "https://ehr.example", "jwks": {"keys": [...]}},
                 {"iss": "https://other.example", "jwks_file": "other-jwks.json"},
                 {"iss": "https://sandbox.example", "jku": "https://sandbox.example/jwks"}]}

A complete example (an inline ES384 key, the CDS Hooks sandbox's ``jku``), which a test
loads: docs/examples/trusted-issuers.json.

[SPEC2]: the service "SHOULD keep an allowlist of iss and jku". A ``jku`` is fetched only
when it is the one configured for that issuer, and not at all when the issuer's keys are
also given (``jwks``/``jwks_file`` with ``jku``: keys pinned, the ``jku`` only matched); a
token naming another is refused, and that URL is never contacted. Only public EC (P-384)
and RSA keys with a ``kid`` are used: a symmetric (``oct``) key in a client's set could let
a forged HMAC token through.
"""

from __future__ import annotations

import json
import logging
import threading
from ipaddress import ip_address
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import yaml
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, Key, KeySet, RSAKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from service.config import Settings
from service.errors import ConfigurationError

log = logging.getLogger("service.auth")

#: A JWK Set is a few kilobytes; refuse to read more from a jku.
_MAX_JWKS_BYTES = 256_000
#: An unknown kid may mean the issuer rotated its keys: refetch its jku, at most this often.
_REFETCH_AFTER_SECONDS = 60.0


class IssuerEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    iss: str = Field(min_length=1, max_length=2000)
    jwks: dict[str, Any] | None = None
    jwks_file: Path | None = None
    jku: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _one_source(self) -> IssuerEntry:
        given = [x for x in (self.jwks, self.jwks_file) if x is not None]
        if len(given) > 1 or (not given and self.jku is None):
            raise ValueError("give one of jwks, jwks_file or jku")
        if self.jku is not None and not _fetchable(self.jku):
            raise ValueError("jku must be an https:// URL (http:// only for loopback hosts)")
        return self


class IssuersFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    issuers: list[IssuerEntry] = Field(min_length=1)


def _fetchable(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return True
    if parts.scheme != "http" or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


def public_keys(value: Any, where: str) -> KeySet:
    """The usable public signing keys of a JWK Set (EC P-384, RSA; each with a kid)."""
    if not isinstance(value, dict) or not isinstance(value.get("keys"), list):
        raise ValueError(f"{where}: not a JWK Set (an object with a 'keys' list)")
    keys: list[Key] = []
    for item in value["keys"]:
        if not isinstance(item, dict) or not isinstance(item.get("kid"), str):
            continue
        kty, public = item.get("kty"), {k: v for k, v in item.items() if k not in _PRIVATE}
        try:
            if kty == "EC" and item.get("crv") == "P-384":
                keys.append(ECKey.import_key(public))
            elif kty == "RSA":
                keys.append(RSAKey.import_key(public))
        except (JoseError, ValueError, TypeError):
            continue  # an unreadable key is skipped: a token naming it is refused
    if not keys:
        raise ValueError(f"{where}: no EC P-384 or RSA public key with a kid")
    return KeySet(keys)


#: Private key members (RFC 7518 §6.2.2, §6.3.2): never kept, even if a file carries them.
_PRIVATE = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


class TrustedIssuer:
    """One issuer: its keys, given (``jwks``, ``jwks_file``) or fetched from its ``jku``."""

    def __init__(
        self, iss: str, *, keys: KeySet | None = None, jku: str | None = None, settings: Settings
    ) -> None:
        self.iss, self.jku = iss, jku
        self._keys = keys
        self._pinned = keys is not None  # given keys are never replaced by a fetch
        self._fetched_at = 0.0
        self._timeout = settings.jku_timeout_seconds
        self._ttl = float(settings.jku_cache_seconds)
        self._lock = threading.Lock()

    def key(self, kid: str, now: float) -> Key | None:
        """The key with this kid, or None. A jku is fetched when not cached, stale, or (at
        most once a minute) when the kid is unknown: the issuer may have rotated its keys."""
        if self._pinned or self.jku is None:
            return _by_kid(self._keys, kid)
        with self._lock:
            stale = self._keys is None or now - self._fetched_at > self._ttl
            key = None if stale else _by_kid(self._keys, kid)
            if key is None and (stale or now - self._fetched_at > _REFETCH_AFTER_SECONDS):
                self._fetch(self.jku, now)
                key = _by_kid(self._keys, kid)
            return key

    def _fetch(self, jku: str, now: float) -> None:
        self._fetched_at = now  # a failed fetch is not retried at once, either
        try:
            body = bytearray()
            with (
                httpx.Client(timeout=self._timeout, follow_redirects=False) as client,
                client.stream("GET", jku, headers={"Accept": "application/json"}) as response,
            ):
                if response.status_code != 200:
                    raise ValueError(f"status {response.status_code}")
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > _MAX_JWKS_BYTES:  # read no further than a JWK Set needs
                        raise ValueError("too large")
            self._keys = public_keys(json.loads(body), "jku")
        except (httpx.HTTPError, ValueError) as error:
            # The issuer's URL is configuration, not a secret; the error's type only.
            log.warning("jku fetch failed for issuer %s: %s", self.iss, type(error).__name__)


def _by_kid(keys: KeySet | None, kid: str) -> Key | None:
    for key in keys or ():
        if key.kid == kid:
            return key
    return None


_NOT_AN_OBJECT = (
    'must be an object with an "issuers" list, {"issuers": [{"iss": ..., "jwks" | '
    '"jwks_file" | "jku": ...}]} (an example: docs/examples/trusted-issuers.json)'
)


def _problem(error: Exception) -> str:
    """What is wrong with the file, on one line."""
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        more = error.error_count() - 1
        return f"{field.lstrip('.')}: {message}" + (f" (and {more} more)" if more else "")
    if isinstance(error, json.JSONDecodeError):
        return f"not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        return f"not valid YAML: {error.problem} at line {mark.line + 1}, column {mark.column + 1}"
    if isinstance(error, yaml.YAMLError):
        return "not valid YAML"
    if isinstance(error, UnicodeDecodeError):
        return "not UTF-8 text"
    if isinstance(error, OSError):
        return f"cannot be read ({error.strerror or type(error).__name__})"
    return " ".join(str(error).split())


def load_issuers(settings: Settings) -> dict[str, TrustedIssuer]:
    """The trusted issuers by ``iss``; a ConfigurationError names what is wrong."""
    path = settings.trusted_issuers_file
    if path is None:
        return {}
    # One line naming the setting, the file and what is wrong: it is what an operator sees
    # when start-up stops (python -m service serve prints it; no pydantic or YAML dump).
    where = f"OPIOID_CDS_TRUSTED_ISSUERS_FILE {path}"
    if path.suffix not in (".json", ".yaml", ".yml"):
        raise ConfigurationError(f"{where}: a trusted issuers file is .json, .yaml or .yml")
    try:
        text = path.read_text("utf-8")
        raw = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        if not isinstance(raw, dict) or "issuers" not in raw:
            raise ConfigurationError(f"{where}: {_NOT_AN_OBJECT}")
        parsed = IssuersFile.model_validate(raw)
    except (OSError, ValueError, yaml.YAMLError) as error:
        raise ConfigurationError(f"{where}: {_problem(error)}") from None
    issuers: dict[str, TrustedIssuer] = {}
    for i, entry in enumerate(parsed.issuers):
        if entry.iss in issuers:
            raise ConfigurationError(f"{where}: issuers[{i}]: {entry.iss} is listed twice")
        keys = None
        try:
            if entry.jwks is not None:
                keys = public_keys(entry.jwks, f"issuers[{i}].jwks")
            elif entry.jwks_file is not None:
                file = entry.jwks_file
                file = file if file.is_absolute() else path.parent / file
                keys = public_keys(json.loads(file.read_text("utf-8")), f"issuers[{i}].jwks_file")
        except (OSError, ValueError) as error:
            detail = _problem(error)
            if not detail.startswith(f"issuers[{i}]"):  # public_keys names the entry itself
                detail = f"issuers[{i}].jwks_file {entry.jwks_file}: {detail}"
            raise ConfigurationError(f"{where}: {detail}") from None
        issuers[entry.iss] = TrustedIssuer(entry.iss, keys=keys, jku=entry.jku, settings=settings)
    log.info("trusting %d CDS client issuer(s): %s", len(issuers), ", ".join(issuers))
    return issuers
