"""When a chart-open review prompt was last shown, per patient (issue 17): the seam the
patient-view route uses so that a prompt appears at most once per patient per period.

The route asks ``last_shown(patient_key)``, passes the answer to the pipeline as plain data
(``Pipeline.evaluate(..., last_review_prompt_at=...)``: the pipeline decides, from
``review_prompt_interval_days`` in rules/parameters.yaml), and records ``shown(patient_key,
at)`` when a prompt was returned.

The service uses ``StoredReviewPromptMemory``: the database's ``patient_memory`` table (as
snoozes are), so every worker shares it and it survives restarts; keys are the audit's
pseudonymous patient key (an HMAC with ``OPIOID_CDS_PSEUDONYM_KEY``), never the id.
``InMemoryReviewPromptMemory`` is per process, for tests and tools that run without storage.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime
from typing import Protocol

from service.storage.store import Storage


class ReviewPromptMemory(Protocol):
    """What the patient-view route needs from storage."""

    def last_shown(self, patient_key: str) -> datetime | None: ...

    def shown(self, patient_key: str, at: datetime) -> None: ...


class InMemoryReviewPromptMemory:
    """Bounded, thread-safe, per-process memory: the least recently shown patients are
    forgotten past ``max_patients`` (a forgotten patient may see the prompt again early,
    which is the safe side of a reminder)."""

    def __init__(self, max_patients: int = 100_000) -> None:
        self._max = max_patients
        self._shown: OrderedDict[str, datetime] = OrderedDict()
        self._lock = threading.Lock()

    def last_shown(self, patient_key: str) -> datetime | None:
        with self._lock:
            return self._shown.get(patient_key)

    def shown(self, patient_key: str, at: datetime) -> None:
        with self._lock:
            self._shown[patient_key] = at
            self._shown.move_to_end(patient_key)
            while len(self._shown) > self._max:
                self._shown.popitem(last=False)


class StoredReviewPromptMemory:
    """Review prompts remembered in storage (``patient_memory``, kind ``review-prompt-shown``).
    When the database cannot be read, ``last_shown`` is None and the prompt may show again:
    the safe side of a reminder."""

    KIND = "review-prompt-shown"
    #: ``patient_memory.rule``: one review prompt per patient, whichever rules it carried.
    RULE = "patient-view"

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def last_shown(self, patient_key: str) -> datetime | None:
        return self._storage.last_recorded(patient_key, self.KIND).get(self.RULE)

    def shown(self, patient_key: str, at: datetime) -> None:
        self._storage.remember(patient_key, self.RULE, self.KIND, at)
