"""Names and limits from the CDS Hooks specification, defined once: the hooks this service
answers, by the names the Hook Library gives them (https://cds-hooks.org/hooks/), and the
card summary limit. At the bottom of the import graph, so the rules engine can check a rule
file against them without importing the wire layer."""

from __future__ import annotations

from typing import Final, Literal

ORDER_SELECT: Final = "order-select"
ORDER_SIGN: Final = "order-sign"
MEDICATION_REFILL: Final = "medication-refill"
ENCOUNTER_DISCHARGE: Final = "encounter-discharge"
#: Chart-open review (issue 17): information only, at most once per patient per period.
PATIENT_VIEW: Final = "patient-view"

HookName = Literal[
    "order-select", "order-sign", "medication-refill", "encounter-discharge", "patient-view"
]
HOOKS: Final = (ORDER_SELECT, ORDER_SIGN, MEDICATION_REFILL, ENCOUNTER_DISCHARGE, PATIENT_VIEW)

#: [SPEC2] Card.summary: "one-sentence, <140-character summary message".
SUMMARY_MAX_CHARS: Final = 139
