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

HookName = Literal["order-select", "order-sign", "medication-refill", "encounter-discharge"]
HOOKS: Final = (ORDER_SELECT, ORDER_SIGN, MEDICATION_REFILL, ENCOUNTER_DISCHARGE)

#: [SPEC2] Card.summary: "one-sentence, <140-character summary message".
SUMMARY_MAX_CHARS: Final = 139
