"""Checking a CDS client's JWT ([SPEC2] "Trusting CDS Clients"; [BP] validation steps).

In order: the header (``alg`` ES384 or RS384 only, never ``none`` or HMAC; ``kid`` given;
``typ`` JWT if given), the issuer (on the trusted list), a header ``jku`` (only the issuer's
own: another is refused and never fetched), the signature (joserfc, with the issuer's key of
that ``kid``), then the claims (``iss``, ``sub``, ``aud``, ``exp``, ``iat``, ``jti`` all
required; ``aud`` the exact URL called; ``exp`` not past and ``iat`` not in the future, with
the leeway; a lifetime no longer than the maximum), and last the ``jti`` (never twice).

Every refusal raises ``NotAuthorised`` (a vague 401). The reason is logged, with the issuer
and ``jti`` when known ([BP]: logging iss and jti is fine) and never the token.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from joserfc import jws
from joserfc.errors import ExpiredTokenError, JoseError, MissingClaimError
from joserfc.jwt import JWTClaimsRegistry

from service.auth.issuers import TrustedIssuer
from service.auth.replay import ReplayCache
from service.config import Settings
from service.errors import NotAuthorised

log = logging.getLogger("service.auth")

#: [SPEC2]: "SHALL NOT be none, SHALL NOT be symmetric"; ES384 and RS384 are RECOMMENDED.
ALGORITHMS = ("ES384", "RS384")
#: A client JWT is a few hundred bytes; a longer bearer value is refused unread.
_MAX_TOKEN_CHARS = 8_000
_REQUIRED = ("iss", "sub", "aud", "exp", "iat", "jti")


@dataclass(frozen=True)
class VerifiedClient:
    iss: str
    sub: str
    jti: str
    tenant: str | None


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


class ClientVerifier:
    def __init__(self, issuers: dict[str, TrustedIssuer], settings: Settings) -> None:
        self.issuers = issuers
        self.leeway = settings.jwt_leeway_seconds
        self.max_lifetime = settings.jwt_max_lifetime_seconds
        self.replay = ReplayCache(settings.jti_cache_size)

    def verify(self, authorization: str | None, audience: str, now: float) -> VerifiedClient:
        """The client behind ``Authorization: Bearer <JWT>``, or ``NotAuthorised``."""
        iss: str | None = None
        try:
            token = _bearer(authorization)
            obj, iss = self._read(token)
            issuer = self.issuers[iss]
            header = obj.headers()
            key = issuer.key(header["kid"], now)
            if key is None:
                raise _Refused("unknown kid")
            try:
                jws.deserialize_compact(token, key, algorithms=[header["alg"]])
            except JoseError:
                raise _Refused("bad signature (or a key of the wrong type)") from None
            claims = _claims(obj.payload)
            self._check_claims(claims, iss, audience, now)
            refused = self.replay.add(iss, claims["jti"], claims["exp"] + self.leeway, now)
            if refused:
                raise _Refused(refused)
        except _Refused as refusal:
            log.warning("client JWT refused: %s (iss=%s)", refusal.reason, _short(iss))
            raise NotAuthorised() from None
        tenant = claims.get("tenant")
        return VerifiedClient(
            iss, claims["sub"], claims["jti"], tenant if isinstance(tenant, str) else None
        )

    def _read(self, token: str) -> tuple[jws.CompactSignature, str]:
        """The unverified header and issuer: enough to choose the key, nothing trusted yet."""
        try:
            obj = jws.extract_compact(token.encode("ascii"))
        except (JoseError, ValueError):
            raise _Refused("not a compact JWS") from None
        header = obj.headers()
        if header.get("alg") not in ALGORITHMS:
            raise _Refused("algorithm not allowed (ES384 or RS384 only)")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise _Refused("no kid in the header")
        if header.get("typ", "JWT") != "JWT":
            raise _Refused("typ is not JWT")
        iss = _claims(obj.payload).get("iss")
        if not isinstance(iss, str):
            raise _Refused("no iss")
        issuer = self.issuers.get(iss)
        if issuer is None:
            raise _Refused(f"untrusted iss {_short(iss)}")
        if "jku" in header and header["jku"] != issuer.jku:
            raise _Refused("header jku is not the issuer's configured jku (not fetched)")
        return obj, iss

    def _check_claims(self, claims: dict[str, Any], iss: str, audience: str, now: float) -> None:
        registry = JWTClaimsRegistry(
            now=int(now),
            leeway=self.leeway,
            iss={"essential": True, "value": iss},
            sub={"essential": True},
            aud={"essential": True, "value": audience},
            exp={"essential": True},
            iat={"essential": True},
            jti={"essential": True},
        )
        try:
            registry.validate(claims)
        except MissingClaimError as error:
            raise _Refused(f"missing claim(s) {error.description}") from None
        except ExpiredTokenError:
            raise _Refused("expired (exp is past)") from None
        except JoseError as error:
            raise _Refused(f"invalid claim: {error.description}") from None
        if claims["exp"] - claims["iat"] > self.max_lifetime:
            raise _Refused(f"lifetime (exp - iat) over {self.max_lifetime} s")


def _bearer(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _Refused("no bearer token")
    if len(token) > _MAX_TOKEN_CHARS or not token.isascii():
        raise _Refused("bearer value too long or not ASCII")
    return token


def _claims(payload: bytes) -> dict[str, Any]:
    try:
        claims = json.loads(payload)
    except ValueError:
        raise _Refused("payload is not JSON") from None
    if not isinstance(claims, dict):
        raise _Refused("payload is not a JSON object")
    return claims


def _short(value: str | None) -> str:
    """An issuer for the log: [BP] allows logging iss; cut, as it may be anyone's string."""
    return "-" if value is None else repr(value[:200])
