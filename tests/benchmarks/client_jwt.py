"""Client JWTs for the HTTP benchmark with auth on (issue 14): a generated ES384 key, a
trusted issuers file naming it, and batches of distinct pre-signed tokens.

The service refuses a reused ``jti`` (service/auth/replay.py) and wrk cannot sign ES384, so
the bench signs a batch per wrk run, one token per request (``post.lua`` rotates through
them); signing happens between runs, outside the measured time.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

from joserfc import jwt
from joserfc.jwk import ECKey

ISSUER = "https://bench-ehr.invalid"
_HEADER = {"alg": "ES384", "typ": "JWT", "kid": "bench-1"}


class BenchIssuer:
    def __init__(self) -> None:
        self.key = ECKey.generate_key("P-384", parameters={"kid": "bench-1"})

    def issuers_file(self, folder: Path) -> Path:
        path = folder / "issuers.json"
        public = {"keys": [self.key.as_dict(private=False)]}
        path.write_text(json.dumps({"issuers": [{"iss": ISSUER, "jwks": public}]}))
        return path

    def token(self, audience: str, now: float | None = None) -> str:
        t = int(time.time() if now is None else now)
        claims = {
            "iss": ISSUER,
            "sub": "bench-client",
            "aud": audience,
            "iat": t - 5,
            "exp": t + 1800,  # within OPIOID_CDS_JWT_MAX_LIFETIME_SECONDS
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(_HEADER, claims, self.key, algorithms=["ES384"])

    def batch(self, audience: str, count: int, path: Path) -> Path:
        """``count`` distinct tokens, one a line (for ``BENCH_TOKENS``)."""
        now = time.time()
        path.write_text("\n".join(self.token(audience, now) for _ in range(count)) + "\n")
        return path
