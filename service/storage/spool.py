"""The spool file: where audit and feedback rows wait while the database is down.

One JSON object per line, appended under an exclusive ``flock`` and fsynced before the
request is answered, so an acknowledged row survives ``kill -9`` even with the database
down. Replayed (in order) when the database answers again; rows carry their own uuids, so a
replay interrupted half-way inserts nothing twice. A line cut short by a crash mid-write
is skipped and logged.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

log = logging.getLogger("service.storage")


class Spool:
    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, kind: str, payload: dict[str, Any]) -> None:
        line = json.dumps({"kind": kind, "row": payload}, separators=(",", ":")) + "\n"
        with self._locked("a") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def pending(self) -> bool:
        try:
            return self.path.stat().st_size > 0
        except FileNotFoundError:
            return False

    def replay(self, apply: Callable[[str, dict[str, Any]], None]) -> int:
        """Apply each waiting row in order; stop at the first failure and keep the rest.
        Returns how many were applied."""
        if not self.pending():
            return 0
        with self._locked("r+") as f:
            lines = f.read().splitlines()
            done = 0
            try:
                for line in lines:
                    entry = _parse(line)
                    if entry is not None:
                        apply(entry["kind"], entry["row"])
                    done += 1
            finally:
                rest = lines[done:]
                f.seek(0)
                f.truncate()
                f.write("".join(x + "\n" for x in rest))
                f.flush()
                os.fsync(f.fileno())
        return done

    @contextmanager
    def _locked(self, mode: str) -> Iterator[IO[str]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if mode == "r+":
            self.path.touch(exist_ok=True)
        with open(self.path, mode, encoding="utf-8") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield f
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)


def _parse(line: str) -> dict[str, Any] | None:
    try:
        entry = json.loads(line)
    except json.JSONDecodeError:
        log.error("storage spool: skipped a line cut short (a crash while writing it)")
        return None
    if not isinstance(entry, dict) or "kind" not in entry or "row" not in entry:
        log.error("storage spool: skipped a line that is not a spooled row")
        return None
    return entry
