"""The storage the service writes to: audit rows, feedback and snoozes.

**Acknowledged means durable**: each write commits before it returns, and the route answers
only after it returns. **Storage never fails a clinical answer**: when the database cannot
be reached, the row is appended to the spool file (fsynced) instead, the failure is logged
and counted (``failures``), and the spool is replayed before the next write that reaches
the database (and at start-up).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, func, insert, select
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError

from service.cds_hooks.services import same_service
from service.storage import database, schema
from service.storage.records import (
    FeedbackItem,
    HookCall,
    Snooze,
    feedback_from_json,
    hook_call_from_json,
    to_json,
    utc,
)
from service.storage.spool import Spool

log = logging.getLogger("service.storage")

SNOOZE = "snooze"
#: Spooled rows replayed before each write once the database is back (all at start-up).
REPLAY_PER_WRITE = 200
#: Which override reasons snooze which rule, and for how many days: rule -> reason -> days
#: (from rules/snooze.yaml, given by the app factory).
SnoozePolicy = Mapping[str, Mapping[str, int]]
#: What a database that is down or busy raises (psycopg's and sqlite3's errors arrive
#: wrapped by SQLAlchemy; OSError covers a SQLite folder that cannot be made). Any other
#: database error is about the row itself: spooling it would block every later row, so it
#: is set aside in the ``.rejected`` file beside the spool instead, logged and counted.
_UNAVAILABLE = (OperationalError, InterfaceError, OSError, ConnectionError)


class Storage:
    def __init__(
        self,
        url: str,
        spool_path: Path,
        snooze_policy: SnoozePolicy,
        retry_seconds: float = 5.0,
    ) -> None:
        self.url = url
        self.engine: Engine = database.make_engine(url)
        self.spool = Spool(spool_path)
        self.snooze_policy = snooze_policy
        #: Writes that went to the spool because the database could not take them.
        self.failures = 0
        self._ready = False
        self._lock = threading.Lock()
        #: After a failure the database is not tried again for ``retry_seconds``: an
        #: unreachable server would otherwise cost every call a connect timeout.
        self.retry_seconds = retry_seconds
        self._down_until = 0.0

    def _available(self) -> bool:
        return time.monotonic() >= self._down_until

    def status(self) -> tuple[bool, int, bool]:
        """What an operator must see (GET /health), this process's own figures: whether the
        database is being tried (not backing off after a failure), how many writes went to
        the spool since start-up, and whether rows wait in the spool to be replayed."""
        return self._available(), self.failures, self.spool.pending()

    # -- start-up -------------------------------------------------------------------------

    def open(self, replay_limit: int | None = None) -> None:
        """Apply pending migrations and replay the spool (at most ``replay_limit`` rows
        when a request opens it). The database being down at start-up is logged, not
        fatal: clinical answers do not need it."""
        with self._lock:
            if self._ready:
                return
            try:
                database.upgrade(self.engine)
                self._ready = True
            except _UNAVAILABLE as exc:
                self._failed("migrate", exc)
                return
        self._replay(replay_limit)

    def close(self) -> None:
        self.engine.dispose()

    # -- writes ---------------------------------------------------------------------------

    def record_hook_call(self, call: HookCall) -> None:
        self._write("hook_call", lambda: to_json(call), lambda c: _insert_hook_call(c, call))

    def record_feedback(self, items: list[FeedbackItem]) -> None:
        for item in items:
            self._write(
                "feedback", partial(to_json, item), lambda c, i=item: self._insert_feedback(c, i)
            )

    def remember(
        self,
        patient_key: str,
        rule: str,
        kind: str,
        at: datetime,
        until: datetime | None = None,
    ) -> None:
        """Keep something about this patient and rule in ``patient_memory`` (e.g. a kind
        ``reminder-shown``), durably, as the audit is. A replayed row may be kept twice,
        which ``last_recorded`` does not mind."""
        row = _memory_row(patient_key, rule, kind, at, until)
        self._write("memory", lambda: to_json_row(row), lambda c: _insert_memory(c, row))

    def last_recorded(self, patient_key: str, kind: str) -> dict[str, datetime]:
        """For each rule, when this patient's latest memory of ``kind`` was recorded (empty
        when the database cannot be read: logged)."""
        m = schema.patient_memory
        query = (
            select(m.c.rule, func.max(m.c.recorded_at))
            .where(m.c.patient_key == patient_key, m.c.kind == kind)
            .group_by(m.c.rule)
        )
        rows = self._read("memory lookup", lambda c: c.execute(query).all())
        return {rule: utc(at) for rule, at in rows}

    def _read(self, what: str, run: Callable[[Connection], Sequence[Any]]) -> Sequence[Any]:
        """Rows from the database, or none when it cannot be read (backing off after a
        failure, or failing now: logged and counted). A read never fails a clinical answer:
        no rows is the safe side (the warning shows, the reminder may repeat)."""
        if not self._available():
            return ()
        try:
            self.open(REPLAY_PER_WRITE)
            if not self._ready:
                return ()
            with self.engine.connect() as connection:
                return run(connection)
        except (SQLAlchemyError, *_UNAVAILABLE) as exc:
            self._failed(what, exc)
            return ()

    def _write(self, kind: str, spooled: Callable[[], dict[str, Any]], insert_rows: Any) -> None:
        """Insert a row, or spool it. ``spooled`` makes the row's spool form, only when it
        is needed: a row that reaches the database is never serialised (issue 14)."""
        if not self._available():  # failed a moment ago: straight to the spool
            self.failures += 1
            self._append(kind, spooled())
            return
        try:
            self.open(REPLAY_PER_WRITE)
            if not self._ready:
                raise ConnectionError("storage not migrated")
            if self.spool.pending():
                # A bounded share per request: the backlog of a long outage drains over
                # the next requests instead of stalling one of them.
                self._replay(limit=REPLAY_PER_WRITE)
                if self.spool.pending():  # this row waits behind the rest, in order
                    self._append(kind, spooled())
                    return
            with self.engine.begin() as connection:
                insert_rows(connection)
        except SQLAlchemyError as exc:
            if not isinstance(exc, _UNAVAILABLE):
                self._reject(kind, spooled(), exc)
                return
            self._spool(kind, spooled(), exc)
        except _UNAVAILABLE as exc:
            self._spool(kind, spooled(), exc)

    def _spool(self, kind: str, payload: dict[str, Any], exc: BaseException) -> None:
        self._failed(kind, exc)
        self._append(kind, payload)

    def _append(self, kind: str, payload: dict[str, Any]) -> None:
        try:
            self.spool.append(kind, payload)
        except OSError as spool_exc:
            # Neither the database nor the spool: the clinical answer still goes out
            # (storage never fails it); this row is lost, and said so loudly.
            self.failures += 1
            log.critical(
                "storage: a %s row was lost: the spool file could not be written (%s)",
                kind,
                type(spool_exc).__name__,
            )

    def _replay(self, limit: int | None = None) -> None:
        try:
            applied = self.spool.replay(self._apply_spooled, limit)
        except _UNAVAILABLE as exc:
            self._failed("replay", exc)
            return
        if applied:
            log.info("storage: replayed %d spooled rows into the database", applied)

    def _apply_spooled(self, kind: str, row: dict[str, Any]) -> None:
        try:
            self._apply(kind, row)
        except SQLAlchemyError as exc:
            if isinstance(exc, _UNAVAILABLE):
                raise
            self._reject(kind, row, exc)

    def _reject(self, kind: str, payload: dict[str, Any], exc: BaseException) -> None:
        self.failures += 1
        log.error(
            "storage: the database refused a %s row (%s); set aside in %s.rejected",
            kind,
            type(exc).__name__,
            self.spool.path,
        )
        Spool(self.spool.path.with_name(self.spool.path.name + ".rejected")).append(kind, payload)

    def _apply(self, kind: str, row: dict[str, Any]) -> None:
        with self.engine.begin() as connection:
            if kind == "hook_call":
                call = hook_call_from_json(row)
                if not _exists(connection, schema.hook_call.c.id, call.id):
                    _insert_hook_call(connection, call)
            elif kind == "feedback":
                item = feedback_from_json(row)
                if not _exists(connection, schema.feedback.c.id, item.id):
                    self._insert_feedback(connection, item)
            elif kind == "memory":
                _insert_memory(connection, memory_from_json(row))
            else:
                log.error("storage spool: skipped a row of unknown kind %r", kind)

    def _failed(self, what: str, exc: BaseException) -> None:
        self.failures += 1
        self._down_until = time.monotonic() + self.retry_seconds
        # The exception's class only: a driver's message may carry the URL or a row.
        log.error(
            "storage: %s could not reach the database (%s); rows go to %s (failures: %d)",
            what,
            type(exc).__name__,
            self.spool.path,
            self.failures,
        )

    def _insert_feedback(self, connection: Connection, item: FeedbackItem) -> None:
        card = _card(connection, item.card_uuid, item.service_id)
        connection.execute(
            insert(schema.feedback).values(
                id=item.id,
                received_at=item.received_at,
                service_id=item.service_id,
                card_uuid=item.card_uuid,
                card_known=card is not None,
                outcome=item.outcome,
                override_reason_code=item.override_reason_code,
                override_reason_system=item.override_reason_system,
                override_reason_recognised=item.override_reason_recognised,
                has_comment=item.has_comment,
                outcome_timestamp=item.outcome_timestamp,
            )
        )
        if item.accepted_suggestions:
            connection.execute(
                insert(schema.feedback_suggestion),
                [{"feedback_id": item.id, "suggestion_uuid": s} for s in item.accepted_suggestions],
            )
        if card is None:
            log.warning("feedback for a card this service has no record of (kept, flagged)")
            return
        patient_key, rules = card
        code = item.override_reason_code
        if item.outcome != "overridden" or not item.override_reason_recognised or not code:
            return
        if patient_key is None:
            return
        for rule in rules:
            days = self.snooze_policy.get(rule, {}).get(code)
            if days:
                connection.execute(
                    insert(schema.patient_memory).values(
                        patient_key=patient_key,
                        rule=rule,
                        kind=SNOOZE,
                        recorded_at=item.received_at,
                        until=item.received_at + timedelta(days=days),
                        reason_code=code,
                        feedback_id=item.id,
                    )
                )

    # -- reads ----------------------------------------------------------------------------

    def snoozes(self, patient_key: str, now: datetime) -> dict[str, Snooze]:
        """The snoozes in force for this patient, by rule (the latest of each). When the
        database cannot be read, none: the warning shows (the safe side), and it is logged."""
        rows = self._read(
            "snooze lookup",
            lambda c: c.execute(_SNOOZES, {"key": patient_key, "now": now}).all(),
        )
        return {
            r.rule: Snooze(r.rule, utc(r.recorded_at), utc(r.until), r.reason_code) for r in rows
        }

    # -- retention ------------------------------------------------------------------------

    def purge(self, before: datetime) -> dict[str, int]:
        """Delete audit and feedback rows older than ``before``, and snoozes that ended
        before it. Returns the number of rows deleted per table."""
        h, f, m = schema.hook_call, schema.feedback, schema.patient_memory
        old_calls = select(h.c.id).where(h.c.recorded_at < before)
        old_feedback = select(f.c.id).where(f.c.received_at < before)
        counts: dict[str, int] = {}
        with self.engine.begin() as c:
            for table, where in (
                (schema.issued_finding, schema.issued_finding.c.hook_call_id.in_(old_calls)),
                (schema.issued_suggestion, schema.issued_suggestion.c.hook_call_id.in_(old_calls)),
                (h, h.c.recorded_at < before),
                (m, m.c.until < before),
                (
                    schema.feedback_suggestion,
                    schema.feedback_suggestion.c.feedback_id.in_(old_feedback),
                ),
            ):
                counts[table.name] = c.execute(delete(table).where(where)).rowcount
            # A snooze still in force outlives the feedback that set it.
            c.execute(m.update().where(m.c.feedback_id.in_(old_feedback)).values(feedback_id=None))
            counts[f.name] = c.execute(delete(f).where(f.c.received_at < before)).rowcount
        return counts


def _memory_row(
    patient_key: str, rule: str, kind: str, at: datetime, until: datetime | None
) -> dict[str, Any]:
    return {
        "patient_key": patient_key,
        "rule": rule,
        "kind": kind,
        "recorded_at": at,
        "until": until,
    }


def to_json_row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


def memory_from_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "recorded_at": datetime.fromisoformat(row["recorded_at"]),
        "until": datetime.fromisoformat(row["until"]) if row.get("until") else None,
    }


def _insert_memory(connection: Connection, row: dict[str, Any]) -> None:
    connection.execute(insert(schema.patient_memory).values(**row))


def _exists(connection: Connection, column: Any, value: str) -> bool:
    return connection.execute(select(column).where(column == value)).first() is not None


# The statements of every call, built once: a statement built per call with ``.values(...)``
# cost SQLAlchemy more CPU (coercing each value, a cache key per statement) than SQLite's
# insert itself (issue 14). Values go in as parameters; the compiled form is cached.
_SNOOZES = (
    select(
        schema.patient_memory.c.rule,
        schema.patient_memory.c.recorded_at,
        schema.patient_memory.c.until,
        schema.patient_memory.c.reason_code,
    )
    .where(
        schema.patient_memory.c.patient_key == bindparam("key"),
        schema.patient_memory.c.kind == SNOOZE,
        schema.patient_memory.c.recorded_at <= bindparam("now"),
        schema.patient_memory.c.until > bindparam("now"),
    )
    .order_by(schema.patient_memory.c.recorded_at)
)
_INSERT_HOOK_CALL = insert(schema.hook_call)
_INSERT_FINDING = insert(schema.issued_finding)
_INSERT_SUGGESTION = insert(schema.issued_suggestion)


def _insert_hook_call(connection: Connection, call: HookCall) -> None:
    connection.execute(
        _INSERT_HOOK_CALL,
        {
            "id": call.id,
            "recorded_at": call.recorded_at,
            "service_id": call.service_id,
            "hook": call.hook,
            "hook_instance": call.hook_instance,
            "patient_key": call.patient_key,
            "organisation": call.organisation,
            "organisation_source": call.organisation_source,
            "client": call.client,
            "current_ome_mg_per_day": call.current_ome_mg_per_day,
            "proposed_ome_mg_per_day": call.proposed_ome_mg_per_day,
            "status": call.status,
            "error_code": call.error_code,
            "latency_ms": call.latency_ms,
            "card_count": call.card_count,
        },
    )
    if call.findings:
        connection.execute(
            _INSERT_FINDING, [{"hook_call_id": call.id, **_fields(f)} for f in call.findings]
        )
    if call.suggestions:
        connection.execute(
            _INSERT_SUGGESTION,
            [{"hook_call_id": call.id, **_fields(s)} for s in call.suggestions],
        )


def _fields(row: Any) -> dict[str, Any]:
    return {name: getattr(row, name) for name in row.__slots__}


def _card(
    connection: Connection, card_uuid: str, service_id: str
) -> tuple[str | None, list[str]] | None:
    """The patient key and rules of the latest call to this service that issued this card,
    or None: feedback posted to another service's endpoint is kept but not attributed (it
    cannot snooze another service's finding)."""
    h, i = schema.hook_call, schema.issued_finding
    latest = connection.execute(
        select(h.c.id, h.c.patient_key)
        .join(i, i.c.hook_call_id == h.c.id)
        .where(i.c.card_uuid == card_uuid, h.c.service_id.in_(same_service(service_id)))
        .order_by(h.c.recorded_at.desc())
        .limit(1)
    ).first()
    if latest is None:
        return None
    rules = connection.execute(
        select(i.c.rule)
        .where(i.c.hook_call_id == latest.id, i.c.card_uuid == card_uuid)
        .order_by(i.c.position)
    ).scalars()
    return latest.patient_key, list(rules)
