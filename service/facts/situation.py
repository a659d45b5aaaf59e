"""What facts are computed from: the record, the regimen, the date and the code sets.

``today`` is given, never read from a clock. The groups of medicines that several facts
share (the opioids, the sedatives...) are worked out once per evaluation.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import cached_property

from service.facts.codesets import CodeSet
from service.fhir.patient_record import PatientRecord
from service.hooks import ENCOUNTER_DISCHARGE
from service.medicines.model import IngredientClass
from service.ome.calculate import Flag, MedicationOme, Status
from service.ome.regimen import Regimen, replaces

_SEDATIVES = (IngredientClass.BENZODIAZEPINE, IngredientClass.Z_DRUG)


class Situation:
    def __init__(
        self,
        record: PatientRecord,
        regimen: Regimen,
        today: date,
        codesets: Mapping[str, CodeSet],
        parameters: Mapping[str, float],
    ) -> None:
        self.record = record
        self.regimen = regimen
        self.today = today
        #: Every code set under rules/codesets/, by file stem.
        self.codesets = codesets
        #: Shared parameters (rules/parameters.yaml) that facts read, e.g. a look-back.
        self.parameters = parameters

    @cached_property
    def opioids(self) -> list[MedicationOme]:
        """Opioids current or proposed (after the proposal replaces what it changes)."""
        return [m for m in self.regimen.with_proposal if has_class(m, IngredientClass.OPIOID)]

    @cached_property
    def proposed_opioids(self) -> list[MedicationOme]:
        return [m for m in self.regimen.proposed if has_class(m, IngredientClass.OPIOID)]

    @cached_property
    def any_opioids(self) -> list[MedicationOme]:
        """Opioids for pain and opioid substitution therapy, current or proposed: for the
        checks where any opioid matters (respiratory depression with a sedative or a
        gabapentinoid, several opioids at once)."""
        return [m for m in self.regimen.with_proposal if is_any_opioid(m)]

    @cached_property
    def proposed_any_opioids(self) -> list[MedicationOme]:
        return [m for m in self.regimen.proposed if is_any_opioid(m)]

    @cached_property
    def sedatives(self) -> list[MedicationOme]:
        return [m for m in self.regimen.with_proposal if is_sedative(m)]

    @cached_property
    def gabapentinoids(self) -> list[MedicationOme]:
        return [
            m for m in self.regimen.with_proposal if has_class(m, IngredientClass.GABAPENTINOID)
        ]

    @cached_property
    def _changes(self) -> dict[int, str]:
        return {id(m): self._change_of(m) for m in self.proposed_opioids}

    def change_of(self, item: MedicationOme) -> str:
        """One proposed opioid against the current regimen (ADR 0006), worked out once."""
        return self._changes.get(id(item)) or self._change_of(item)

    def _change_of(self, item: MedicationOme) -> str:
        replaced = [c for c in self.regimen.current if replaces(item, c)]
        if not replaced:
            others = [c for c in self.regimen.current if has_class(c, IngredientClass.OPIOID)]
            return "added" if others else "new start"
        before = [c.ome_mg_per_day for c in replaced]
        after = item.ome_mg_per_day
        if after is None or any(b is None for b in before):
            return "unknown"
        total_before = sum(b for b in before if b is not None)
        if after > total_before + _SAME:
            return "increase"
        if after < total_before - _SAME:
            return "decrease"
        return "continue"

    @cached_property
    def is_discharge(self) -> bool:
        """encounter-discharge, or an order with category discharge."""
        return self.record.hook == ENCOUNTER_DISCHARGE or any(
            "discharge" in c for m in self.record.proposed for c in m.categories
        )


#: What a proposed opioid does to the regimen, from the least to the most that a prescriber
#: should be asked about (docs/adr/0006-new-increase-continue.md).
CHANGE_ORDER = ("decrease", "continue", "unknown", "increase", "added", "new start")
#: OME/day differences smaller than this are rounding, not a change of dose.
_SAME = 1e-6


def has_class(item: MedicationOme, ingredient_class: IngredientClass) -> bool:
    """Whether the item contains the class. An excluded opioid (topical, substitution
    therapy, not counted by the profile) is not an opioid for the rules; an excluded
    sedative or gabapentinoid still is."""
    return (
        item.product is not None
        and item.product.has_class(ingredient_class)
        and (item.status is not Status.EXCLUDED or ingredient_class is not IngredientClass.OPIOID)
    )


def is_substitution_therapy(item: MedicationOme) -> bool:
    """An opioid used to treat dependence (BNF 4.10: methadone oral solution, Subutex...):
    kept out of the analgesic OME total, but an opioid all the same."""
    return (
        item.product is not None
        and item.product.has_class(IngredientClass.OPIOID)
        and Flag.SUBSTANCE_DEPENDENCE in item.flags
    )


def is_any_opioid(item: MedicationOme) -> bool:
    return has_class(item, IngredientClass.OPIOID) or is_substitution_therapy(item)


def is_sedative(item: MedicationOme) -> bool:
    return any(has_class(item, c) for c in _SEDATIVES)


def is_rescue_naloxone(item: MedicationOme) -> bool:
    """Naloxone on its own: the overdose rescue medicine (take-home naloxone). In a product
    with an opioid (oxycodone with naloxone, buprenorphine with naloxone) it only deters
    misuse and rescues nobody."""
    product = item.product
    return (
        product is not None
        and bool(product.ingredients)
        and all(i.ingredient_class is IngredientClass.NALOXONE for i in product.ingredients)
    )
