"""``jti`` replay protection ([BP] step 6: "store jtis for the maximum token lifetime").

Bounded and in memory, per process: a ``jti`` is remembered until its token expires (plus
the leeway), then forgotten. When the cache is full of live tokens a new token is refused
rather than an old ``jti`` forgotten (fail closed: forgetting one would let it be replayed).
With several workers (processes) each has its own cache, so a token replayed to another
worker is not caught; docs/adr/0008-client-trust.md states the trade-off (a shared store,
e.g. the database, would close it).
"""

from __future__ import annotations

import heapq
import threading


class ReplayCache:
    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._expiry: dict[tuple[str, str], float] = {}
        self._heap: list[tuple[float, tuple[str, str]]] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._expiry)

    def add(self, issuer: str, jti: str, forget_after: float, now: float) -> str | None:
        """Remember ``jti`` until ``forget_after``. None when accepted, else why not."""
        key = (issuer, jti)
        with self._lock:
            while self._heap and self._heap[0][0] < now:
                _, old = heapq.heappop(self._heap)
                self._expiry.pop(old, None)
            if key in self._expiry:
                return "jti already used"
            if len(self._expiry) >= self.max_entries:
                return "jti cache full (refusing rather than forgetting a live jti)"
            self._expiry[key] = forget_after
            heapq.heappush(self._heap, (forget_after, key))
            return None
