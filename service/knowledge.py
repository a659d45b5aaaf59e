"""The engine as the HTTP layer sees it: built once at startup from ``rules/``.

Holds the indexes (medicines dictionary, conversion factors, rules) so that no file is read
per request, and turns a ``PatientRecord`` into cards.
"""

from __future__ import annotations

from datetime import datetime

from service.cds_hooks.models import Card
from service.config import Settings
from service.fhir.patient_record import PatientRecord


class Engine:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def cards(self, record: PatientRecord, now: datetime) -> list[Card]:
        """Cards for this record at this time (rules land with the rules issue)."""
        del record, now
        return []
