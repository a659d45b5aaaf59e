"""Client trust: which CDS clients may call, and checking the JWT each call carries
([SPEC2] "Trusting CDS Clients"; docs/adr/0008-client-trust.md).

- ``issuers``: the trusted issuers file (``OPIOID_CDS_TRUSTED_ISSUERS_FILE``) and each
  issuer's keys (inline, a file, or its configured ``jku`` fetched and cached);
- ``replay``: the bounded cache of ``jti`` values seen while their tokens are valid;
- ``verify``: ``ClientVerifier.verify`` (ES384/RS384 only, ``kid`` required, every claim);
- ``links``: ``LinkSealer``, the opaque (encrypted) taper plan links on cards.

Every refusal is ``service.errors.NotAuthorised`` (a vague 401); the reason is logged on the
``service.auth`` logger, never the token.
"""

from service.auth.issuers import TrustedIssuer, load_issuers
from service.auth.links import LinkSealer
from service.auth.verify import ClientVerifier, VerifiedClient

__all__ = ["ClientVerifier", "LinkSealer", "TrustedIssuer", "VerifiedClient", "load_issuers"]
