"""Opaque taper plan links (issue 12 item 4): no patient data in a URL.

A card's "full plan" link used to carry the regimen in its query string
(``/taper/plan?item=dmd|<code>|<dose>|mg...``), which every proxy and access log recorded.
Now the query is sealed as a compact JWE (``dir`` + ``A256GCM``, joserfc): encrypted and
authenticated, so the link reveals nothing and cannot be altered, and any worker holding the
key can open it, after a restart too. The key is derived (HKDF-SHA256) from
``OPIOID_CDS_LINK_KEY``; unset, a random key per process, and links then neither survive a
restart nor span workers (``service.main`` warns at start-up).
"""

from __future__ import annotations

import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from pydantic import SecretStr

_INFO = b"opioid-cds taper plan link v1"
_HEADER = {"alg": "dir", "enc": "A256GCM"}
#: A sealed plan query is a few hundred characters; anything much longer is not ours.
MAX_LINK_CHARS = 4_000


class LinkSealer:
    def __init__(self, secret: SecretStr | None) -> None:
        self.ephemeral = secret is None
        material = os.urandom(32) if secret is None else secret.get_secret_value().encode()
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(material)
        self._key = OctKey.import_key(derived)

    def seal(self, query: str) -> str:
        return jwe.encrypt_compact(_HEADER, query.encode(), self._key)

    def open(self, token: str) -> str | None:
        """The sealed query, or None when the link is not one this key sealed (another
        deployment's, a restarted process's, or altered)."""
        if len(token) > MAX_LINK_CHARS or not token.isascii():
            return None
        try:
            sealed = jwe.decrypt_compact(token, self._key, algorithms=["dir", "A256GCM"])
            return None if sealed.plaintext is None else sealed.plaintext.decode()
        except (JoseError, ValueError):
            return None
