"""The CDS Hooks this service answers, by the names the Hook Library gives them
(https://cds-hooks.org/hooks/). Named once here so that no module spells them itself."""

from __future__ import annotations

from typing import Final, Literal

ORDER_SELECT: Final = "order-select"
ORDER_SIGN: Final = "order-sign"
MEDICATION_REFILL: Final = "medication-refill"
ENCOUNTER_DISCHARGE: Final = "encounter-discharge"

HookName = Literal["order-select", "order-sign", "medication-refill", "encounter-discharge"]
HOOKS: Final = (ORDER_SELECT, ORDER_SIGN, MEDICATION_REFILL, ENCOUNTER_DISCHARGE)
