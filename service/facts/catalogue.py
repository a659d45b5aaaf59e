"""The fact sets computed from the patient's record, in the order they are computed."""

from __future__ import annotations

from service.facts import event, medicines, patient

RECORD_FACTS = (medicines.FACTS, event.FACTS, patient.FACTS)
