"""The pseudonymous patient key: HMAC-SHA256 of the patient id with a deployment secret
(``OPIOID_CDS_PSEUDONYM_KEY``). The same patient gets the same key in every call, so
snoozes and reports can count patients; without the secret, the key cannot be turned back
into an id (a plain hash of a 10-digit NHS number could be, by trying them all)."""

from __future__ import annotations

import hashlib
import hmac

MIN_KEY_CHARS = 32


def patient_key(secret: str, patient_id: str) -> str:
    return hmac.new(secret.encode(), patient_id.encode(), hashlib.sha256).hexdigest()
