"""Alert burden as a number (issue 11 item 5).

Generates a reproducible set of realistic prescribing events (``random.Random(2026)``, no
other randomness), labels each one high-risk or not from the generator's own knowledge of
what it made (never from the service), runs every event through the real app (FastAPI
TestClient, the discovered CDS Services, a fixed clock) and reports how many cards and
warning cards the service shows, whether every high-risk event got a warning card, and how
often a low-risk opioid prescription got one anyway (the false-alarm burden).

    .venv/bin/python tools/alert_burden.py            # Markdown report on stdout
    .venv/bin/python tools/alert_burden.py --json     # the same figures for machines
    .venv/bin/python tools/alert_burden.py -n 120     # the first 120 events of the stream

Events are drawn one after another from one generator, so the first ``n`` events of any run
are the same events whatever ``n`` is: the 120-event test sample is the start of the
500-event report.

**The label.** An event is *high-risk* when the patient has no active cancer or
palliative-care record and the event's proposal makes one of these true:

- ``dose``: an opioid is proposed and the patient's total opioid dose with it is at least
  120 mg oral morphine equivalent (OME) a day (a proposal that changes or re-issues a current
  prescription replaces it; one that adds a different medicine is added);
- ``sedative``: an opioid and a benzodiazepine or Z-drug would be taken together, and one of
  them is what is being prescribed;
- ``gabapentinoid``: the same with gabapentin or pregabalin.

A prescription that adds nothing to these risks (amoxicillin for a patient on opioids) is not
a high-risk event, whatever the patient already takes. The OME factors are a small table
below, copied from ``rules/ome/factors.csv`` (profile ``uk-opioids-aware``); the service's
own calculation is not used.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import yaml  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from service.api.deps import now_dependency  # noqa: E402
from service.config import Settings  # noqa: E402
from service.main import create_app  # noqa: E402
from tests.scenarios.builder import hook_request  # noqa: E402

SEED = 2026
DEFAULT_EVENTS = 500
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)  # the builder's default "today", at noon
THRESHOLD_MG_PER_DAY = 120.0  # rules/parameters.yaml high_dose_mg_per_day (at_least)
FINDINGS = "org.example.opioid-cds.findings"
WARNING_INDICATORS = frozenset({"warning", "critical"})

# --- OME factors (mg oral morphine per mg, or per microgram/hour for patches) -------------
# Copied by hand from rules/ome/factors.csv, profile uk-opioids-aware, so that the label does
# not depend on the service's tables or arithmetic:
#   codeine,oral,factor,0.1        (row "uk-opioids-aware,codeine,oral")
#   tramadol,oral,factor,0.1       (row "uk-opioids-aware,tramadol,oral")
#   morphine,oral,factor,1         (row "uk-opioids-aware,morphine,oral")
#   oxycodone,oral,factor,1.5      (row "uk-opioids-aware,oxycodone,oral")
#   fentanyl,transdermal,2.4 per microgram/hour      (row "uk-opioids-aware,fentanyl,transdermal")
#   buprenorphine,transdermal,2.4 per microgram/hour (row "uk-opioids-aware,buprenorphine,...")
# and rules/medicines/nominal_patch_rates.csv: the "12 micrograms/hour" fentanyl patch
# releases a nominal 12.5 micrograms/hour (Opioids Aware: 30 mg OME/day).
OME_FACTOR: dict[str, float] = {
    "codeine": 0.1,
    "tramadol": 0.1,
    "morphine": 1.0,
    "oxycodone": 1.5,
    "fentanyl": 2.4,
    "buprenorphine": 2.4,
}
NOMINAL_PATCH_RATE: dict[tuple[str, float], float] = {("fentanyl", 12.0): 12.5}

Kind = Literal["opioid", "gabapentinoid", "sedative", "other"]


@dataclass(frozen=True, slots=True)
class Product:
    """A dm+d product the generator prescribes, with what it knows about it."""

    name: str
    ingredient: str
    kind: Kind
    strength: float = 0.0  # mg of opioid per unit, or micrograms/hour for a patch
    patch: bool = False
    modified_release: bool = False
    coded: bool = True  # False: not in rules/medicines (sent by name only)

    @property
    def medicine(self) -> tuple[str, bool, bool]:
        """What makes two products the same medicine for a dose change: the name before the
        strength (co-codamol is not codeine), patch or not, modified-release or not."""
        return (self.name.split()[0].lower(), self.patch, self.modified_release)


def _opioid(name: str, ingredient: str, strength: float, *, mr: bool = False) -> Product:
    return Product(name, ingredient, "opioid", strength, modified_release=mr)


def _patch(name: str, ingredient: str, rate: float) -> Product:
    return Product(name, ingredient, "opioid", rate, patch=True)


WEAK = (
    _opioid("Codeine 15mg tablets", "codeine", 15),
    _opioid("Codeine 30mg tablets", "codeine", 30),
    _opioid("Codeine 60mg tablets", "codeine", 60),
    _opioid("Co-codamol 8mg/500mg tablets", "codeine", 8),
    _opioid("Co-codamol 15mg/500mg tablets", "codeine", 15),
    _opioid("Co-codamol 30mg/500mg tablets", "codeine", 30),
    _opioid("Co-codamol 30mg/500mg capsules", "codeine", 30),
    _opioid("Tramadol 50mg capsules", "tramadol", 50),
    _opioid("Tramadol 100mg modified-release tablets", "tramadol", 100, mr=True),
)
STRONG_ORAL_IR = (
    _opioid("Morphine 10mg tablets", "morphine", 10),
    _opioid("Morphine 20mg tablets", "morphine", 20),
    _opioid("Oxycodone 5mg capsules", "oxycodone", 5),
    _opioid("Oxycodone 10mg capsules", "oxycodone", 10),
    _opioid("Oxycodone 20mg capsules", "oxycodone", 20),
)
STRONG_ORAL_MR = (
    _opioid("Morphine 10mg modified-release tablets", "morphine", 10, mr=True),
    _opioid("Morphine 30mg modified-release tablets", "morphine", 30, mr=True),
    _opioid("Morphine 60mg modified-release tablets", "morphine", 60, mr=True),
    _opioid("Morphine 100mg modified-release tablets", "morphine", 100, mr=True),
    _opioid("Oxycodone 10mg modified-release tablets", "oxycodone", 10, mr=True),
    _opioid("Oxycodone 20mg modified-release tablets", "oxycodone", 20, mr=True),
    _opioid("Oxycodone 40mg modified-release tablets", "oxycodone", 40, mr=True),
    _opioid("Oxycodone 80mg modified-release tablets", "oxycodone", 80, mr=True),
)
FENTANYL_PATCHES = tuple(
    _patch(f"Fentanyl {r}micrograms/hour transdermal patches", "fentanyl", float(r))
    for r in (12, 25, 50, 75, 100)
)
BUPRENORPHINE_7_DAY = tuple(
    _patch(f"Buprenorphine {r}micrograms/hour transdermal patches", "buprenorphine", float(r))
    for r in (5, 10, 20)
)
BUPRENORPHINE_96_HOUR = tuple(
    _patch(f"Buprenorphine {r}micrograms/hour transdermal patches", "buprenorphine", float(r))
    for r in ("35", "52.5", "70")
)
GABAPENTINOIDS = (
    Product("Gabapentin 300mg capsules", "gabapentin", "gabapentinoid"),
    Product("Gabapentin 600mg tablets", "gabapentin", "gabapentinoid"),
    Product("Pregabalin 75mg capsules", "pregabalin", "gabapentinoid"),
    Product("Pregabalin 150mg capsules", "pregabalin", "gabapentinoid"),
)
SEDATIVES = (
    Product("Diazepam 2mg tablets", "diazepam", "sedative"),
    Product("Diazepam 5mg tablets", "diazepam", "sedative"),
    Product("Lorazepam 1mg tablets", "lorazepam", "sedative"),
    Product("Temazepam 10mg tablets", "temazepam", "sedative"),
    Product("Zopiclone 7.5mg tablets", "zopiclone", "sedative"),
    Product("Zolpidem 10mg tablets", "zolpidem", "sedative"),
)
# Not in rules/medicines (the dictionary holds opioids, co-drugs and their combinations), so
# sent by name, uncoded: a medicine the service should recognise as none of its concern.
AMOXICILLIN = Product("Amoxicillin 500mg capsules", "amoxicillin", "other", coded=False)

# Sig text and the units a day it means (the generator's knowledge, not the service's parser).
ORAL_SIGS: dict[str, tuple[str, ...]] = {
    "low": ("one at night", "one twice a day", "one three times a day"),
    "usual": ("one three times a day", "one four times a day", "two twice a day"),
    "high": ("two four times a day", "one every 4 hours", "two three times a day"),
}
UNITS_A_DAY = {
    "one at night": 1,
    "one once a day": 1,
    "one twice a day": 2,
    "one three times a day": 3,
    "one four times a day": 4,
    "two twice a day": 4,
    "two three times a day": 6,
    "one every 4 hours": 6,
    "two four times a day": 8,
}
# Oral opioid sigs are kept within the licensed daily maximum (BNF: codeine 240 mg, tramadol
# 400 mg); the strongest sigs give at most 8 units a day (co-codamol: 4 g paracetamol).
MAX_MG_A_DAY = {"codeine": 240.0, "tramadol": 400.0}
CO_DRUG_SIGS = {
    "gabapentin": ("one three times a day", "one twice a day"),
    "pregabalin": ("one twice a day",),
    "diazepam": ("one three times a day", "one twice a day", "one at night"),
    "lorazepam": ("one twice a day", "one at night"),
    "temazepam": ("one at night",),
    "zopiclone": ("one at night",),
    "zolpidem": ("one at night",),
    "amoxicillin": ("one three times a day",),
}
WEANING_INSTRUCTION = "Reduce to half the dose after 3 days, then stop after 7 days"

CANCER_CONDITIONS = (
    {"snomed": 254637007, "text": "Non-small cell lung cancer"},
    {"snomed": 254837009, "text": "Malignant neoplasm of breast"},
    {"snomed": 93761005, "text": "Primary malignant neoplasm of colon"},
    {"snomed": 103735009, "text": "Palliative care"},
)
OTHER_CONDITIONS = (
    {"snomed": 279039007, "text": "Low back pain"},
    {"snomed": 396275006, "text": "Osteoarthritis"},
    {"snomed": 203082005, "text": "Fibromyalgia"},
    {"snomed": 70272006, "text": "Malignant hypertension"},  # "malignant", not cancer
)


# --- events ------------------------------------------------------------------------------


@dataclass(slots=True)
class Med:
    """One medicine in an event, as the generator made it."""

    product: Product
    sig: str
    role: Literal["current", "proposed"]
    id: str
    status: str = "active"  # current medicines: "completed" is a stopped course
    replaces: str | None = None  # proposed: the current id it changes or re-issues
    link: bool = False  # proposed: says so with priorPrescription
    statement: bool = False  # current: sent as a MedicationStatement
    supply_days: int | None = None
    discharge: bool = False
    weaning_plan: bool = False

    @property
    def active(self) -> bool:
        return self.role == "proposed" or self.status == "active"

    def ome(self) -> float:
        """mg OME/day by the table above (0 for a non-opioid)."""
        p = self.product
        if p.kind != "opioid":
            return 0.0
        factor = OME_FACTOR[p.ingredient]
        if p.patch:
            return NOMINAL_PATCH_RATE.get((p.ingredient, p.strength), p.strength) * factor
        return p.strength * UNITS_A_DAY[self.sig] * factor

    def spec(self) -> dict[str, Any]:
        """The medicine as tests/scenarios/builder.py reads it."""
        spec: dict[str, Any] = {"id": self.id, "product": self.product.name, "sig": self.sig}
        if not self.product.coded:
            spec["text_only"] = True
        if self.role == "current":
            if self.status != "active":
                spec["status"] = self.status
            if self.statement:
                spec["resource"] = "MedicationStatement"
        if self.link and self.replaces:
            spec["prior"] = self.replaces
        if self.supply_days is not None:
            spec["supply_days"] = self.supply_days
        if self.discharge:
            spec["discharge"] = True
        if self.weaning_plan:
            spec["patient_instruction"] = WEANING_INSTRUCTION
        return spec

    def describe(self) -> str:
        text = f"{self.product.name}, {self.sig}"
        if self.product.kind == "opioid":
            text += f" ({self.ome():g} mg OME/day)"
        if self.role == "current" and self.status != "active":
            text += f" [{self.status}]"
        if self.replaces:
            text += f" [replaces {self.replaces}{' by link' if self.link else ''}]"
        if self.supply_days is not None:
            text += f" [{self.supply_days} days]"
        if self.weaning_plan:
            text += " [weaning plan]"
        return text


@dataclass(slots=True)
class Label:
    high_risk: bool
    reasons: list[str]
    total_ome_mg_per_day: float
    cancer_or_palliative: bool
    opioid_proposed: bool
    control: bool


@dataclass(slots=True)
class Event:
    id: str
    kind: str
    hook: str
    meds: list[Med]
    sex: str
    born: str
    conditions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def current(self) -> list[Med]:
        return [m for m in self.meds if m.role == "current"]

    @property
    def proposed(self) -> list[Med]:
        return [m for m in self.meds if m.role == "proposed"]

    def scenario(self) -> dict[str, Any]:
        """The event as a scenario for tests/scenarios/builder.py."""
        return {
            "name": f"alert-burden {self.id}",
            "hook": self.hook,
            "sex": self.sex,
            "born": self.born,
            "current": [m.spec() for m in self.current],
            "proposed": [m.spec() for m in self.proposed],
            "conditions": list(self.conditions),
        }

    def regimen(self) -> list[Med]:
        """What the patient would take: active current medicines (less those a proposal
        replaces) and the proposal."""
        replaced = {m.replaces for m in self.proposed if m.replaces}
        kept = [m for m in self.current if m.active and m.id not in replaced]
        return kept + self.proposed

    def label(self) -> Label:
        regimen = self.regimen()
        kinds = {m.product.kind for m in regimen}
        proposed_kinds = {m.product.kind for m in self.proposed}
        total = round(sum(m.ome() for m in regimen), 6)
        cancer = any(
            c.get("status", "active") == "active" for c in self.conditions if _is_cancer(c)
        )
        reasons: list[str] = []
        if "opioid" in proposed_kinds and total >= THRESHOLD_MG_PER_DAY:
            reasons.append("dose")
        for co in ("sedative", "gabapentinoid"):
            if {"opioid", co} <= kinds and proposed_kinds & {"opioid", co}:
                reasons.append(co)
        return Label(
            high_risk=bool(reasons) and not cancer,
            reasons=reasons,
            total_ome_mg_per_day=total,
            cancer_or_palliative=cancer,
            opioid_proposed="opioid" in proposed_kinds,
            control=self.kind == "control",
        )

    def describe(self) -> str:
        parts = [f"{self.hook}, {self.sex} born {self.born}"]
        if self.current:
            parts.append("current: " + "; ".join(m.describe() for m in self.current))
        parts.append("proposed: " + "; ".join(m.describe() for m in self.proposed))
        if self.conditions:
            conditions = [
                c["text"] + (f" [{c['status']}]" if "status" in c else "") for c in self.conditions
            ]
            parts.append("conditions: " + "; ".join(conditions))
        return " | ".join(parts)


def _is_cancer(condition: dict[str, Any]) -> bool:
    return any(condition["snomed"] == c["snomed"] for c in CANCER_CONDITIONS)


class Generator:
    """Events one after another from one ``random.Random(seed)``."""

    # (kind, weight): the mix of a GP practice's and a hospital's opioid-relevant prescribing.
    KINDS = (
        ("acute", 22),
        ("new_strong", 14),
        ("dose_change", 10),
        ("repeat", 22),
        ("co_prescription", 12),
        ("discharge", 10),
        ("control", 10),
    )

    def __init__(self, seed: int = SEED) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - reproducible synthetic data, not security
        self.count = 0

    def __iter__(self) -> Iterator[Event]:
        return self

    def __next__(self) -> Event:
        rng = self.rng
        self.count += 1
        kinds, weights = zip(*self.KINDS, strict=True)
        kind = rng.choices(kinds, weights)[0]
        event = Event(
            id=f"E{self.count:03d}",
            kind=kind,
            hook="order-sign",
            meds=[],
            sex=rng.choice(("female", "male")),
            born=f"{rng.randint(1930, 2004)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        )
        self._conditions(event)
        getattr(self, f"_{kind}")(event)
        return event

    # -- helpers --

    def _conditions(self, event: Event) -> None:
        rng = self.rng
        roll = rng.random()
        if roll < 0.10:
            event.conditions.append(dict(rng.choice(CANCER_CONDITIONS)))
        elif roll < 0.13:
            event.conditions.append({**rng.choice(CANCER_CONDITIONS[:3]), "status": "resolved"})
        if rng.random() < 0.4:
            event.conditions.append(dict(rng.choice(OTHER_CONDITIONS)))

    def _oral_sig(self, product: Product, level: str | None = None) -> str:
        rng = self.rng
        level = level or rng.choices(("low", "usual", "high"), (3, 5, 2))[0]
        levels = {"high": ("high", "usual"), "usual": ("usual", "low"), "low": ("low",)}[level]
        if product.modified_release:  # 12-hourly
            return "one twice a day"
        for candidate in levels:  # a lower level when the product's maximum rules all out
            sigs = [
                s
                for s in ORAL_SIGS[candidate]
                if product.strength * UNITS_A_DAY[s] <= MAX_MG_A_DAY.get(product.ingredient, 1e9)
                and (s != "one at night" or product in WEAK)
            ]
            if sigs:
                break
        return rng.choice(sigs)

    def _sig(self, product: Product, level: str | None = None) -> str:
        if product.kind == "opioid" and product.patch:
            if product.ingredient == "fentanyl":
                return "apply one patch every 72 hours"
            if product.strength < 35:
                return "apply one patch every 7 days"
            return "apply one patch twice a week"
        if product.kind == "opioid":
            return self._oral_sig(product, level)
        return self.rng.choice(CO_DRUG_SIGS[product.ingredient])

    def _strong(self) -> Product:
        rng = self.rng
        group = rng.choices(
            (
                STRONG_ORAL_IR,
                STRONG_ORAL_MR,
                FENTANYL_PATCHES,
                BUPRENORPHINE_7_DAY + BUPRENORPHINE_96_HOUR,
            ),
            (4, 5, 2, 2),
        )[0]
        return rng.choice(group)

    def _any_opioid(self) -> Product:
        return self.rng.choice(WEAK) if self.rng.random() < 0.5 else self._strong()

    def _med(
        self,
        event: Event,
        product: Product,
        role: Literal["current", "proposed"],
        sig: str | None = None,
        **kw: Any,
    ) -> Med:
        n = sum(1 for m in event.meds if m.role == role)
        med = Med(product, sig or self._sig(product), role, f"{role}-{n}", **kw)
        event.meds.append(med)
        return med

    def _background(self, event: Event, *, opioid: float, co_drug: float) -> None:
        """Current medicines: maybe an opioid, maybe gabapentinoids or sedatives (some of
        them stopped courses, some sent as GP MedicationStatements)."""
        rng = self.rng
        if rng.random() < opioid:
            self._med(event, self._any_opioid(), "current", statement=rng.random() < 0.2)
        for group in (GABAPENTINOIDS, SEDATIVES):
            if rng.random() < co_drug:
                status = "completed" if rng.random() < 0.2 else "active"
                self._med(
                    event, rng.choice(group), "current", status=status, statement=rng.random() < 0.2
                )

    def _differs(self, product: Product, event: Event) -> bool:
        """Not the same medicine (ingredient, patch or not, release) as a current one, so
        that a new prescription is an addition, never an unlinked change."""
        return all(m.product.medicine != product.medicine for m in event.current)

    def _new_opioid(self, event: Event, pick: Callable[[], Product], **kw: Any) -> Med:
        product = pick()
        while not self._differs(product, event):
            product = pick()
        return self._med(event, product, "proposed", **kw)

    # -- kinds --

    def _acute(self, event: Event) -> None:
        """A GP starts a weak opioid (sometimes a short course of a strong one)."""
        rng = self.rng
        event.hook = rng.choices(("order-sign", "order-select"), (4, 1))[0]
        self._background(event, opioid=0.15, co_drug=0.2)
        pick = (
            (lambda: rng.choice(WEAK))
            if rng.random() < 0.8
            else (lambda: rng.choice(STRONG_ORAL_IR))
        )
        self._new_opioid(event, pick, supply_days=rng.choice((5, 7, 14, 28)))

    def _new_strong(self, event: Event) -> None:
        """A strong opioid started or added (MR, IR, patches)."""
        rng = self.rng
        self._background(event, opioid=0.45, co_drug=0.3)
        self._new_opioid(event, self._strong, supply_days=rng.choice((14, 28)))

    def _dose_change(self, event: Event) -> None:
        """The same medicine at a new dose, with or without a link to the old prescription."""
        rng = self.rng
        pool = rng.choice((WEAK, STRONG_ORAL_MR, STRONG_ORAL_IR, FENTANYL_PATCHES))
        old = rng.choice(pool)
        same = [p for p in pool if p.medicine == old.medicine]
        before = self._med(event, old, "current")
        self._background(event, opioid=0.0, co_drug=0.3)
        new = rng.choice(same)
        sig = self._sig(new, rng.choice(("usual", "high")))
        self._med(
            event,
            new,
            "proposed",
            sig=sig,
            replaces=before.id,
            link=rng.random() < 0.5,
            supply_days=28,
        )

    def _repeat(self, event: Event) -> None:
        """Re-authorisation of a repeat opioid (medication-refill, or order-sign with the
        previous prescription as priorPrescription)."""
        rng = self.rng
        event.hook = rng.choices(("medication-refill", "order-sign"), (3, 2))[0]
        product = self._any_opioid()
        current = self._med(event, product, "current")
        self._background(event, opioid=0.25, co_drug=0.35)
        # the second opioid must be a different medicine, or it would be the same repeat
        for m in event.current[1:]:
            if m.product.kind == "opioid" and not self._differs_from(m.product, product):
                event.meds.remove(m)
        self._med(
            event,
            product,
            "proposed",
            sig=current.sig,
            replaces=current.id,
            link=True,
            supply_days=28,
        )

    @staticmethod
    def _differs_from(a: Product, b: Product) -> bool:
        return a.medicine != b.medicine

    def _co_prescription(self, event: Event) -> None:
        """A gabapentinoid, benzodiazepine or Z-drug started, for a patient on an opioid or not."""
        rng = self.rng
        self._background(event, opioid=0.65, co_drug=0.0)
        group = rng.choice((GABAPENTINOIDS, SEDATIVES))
        self._med(event, rng.choice(group), "proposed", supply_days=28)

    def _discharge(self, event: Event) -> None:
        """A hospital discharge with an opioid: the EPMA's encounter-discharge call, or the
        discharge prescription signed (order-sign, category discharge)."""
        rng = self.rng
        event.hook = rng.choice(("encounter-discharge", "order-sign"))
        self._background(event, opioid=0.3, co_drug=0.3)
        pool = STRONG_ORAL_IR + WEAK if rng.random() < 0.8 else STRONG_ORAL_MR
        self._new_opioid(
            event,
            lambda: rng.choice(pool),
            supply_days=rng.choice((5, 7, 7, 14)),
            discharge=True,
            weaning_plan=rng.random() < 0.5,
        )

    def _control(self, event: Event) -> None:
        """Amoxicillin: a prescription that should raise no opioid prompt, whatever the
        patient already takes."""
        self._background(event, opioid=0.5, co_drug=0.4)
        self._med(event, AMOXICILLIN, "proposed", supply_days=5)


def generate(n: int = DEFAULT_EVENTS, seed: int = SEED) -> list[Event]:
    """The first ``n`` events of the stream seeded with ``seed``."""
    gen = Generator(seed)
    return [next(gen) for _ in range(n)]


# --- running them through the service ------------------------------------------------------


@dataclass(slots=True)
class Outcome:
    event: str
    kind: str
    hook: str
    description: str
    label: Label
    status: int
    cards: int
    warnings: int
    infos: int
    warning_rules: list[str]  # the findings on the warning card(s)
    info_rules: list[str]

    @property
    def warned(self) -> bool:
        return self.warnings > 0

    def warned_for_reason(self) -> bool:
        """The warning card carries a finding for at least one of the label's reasons."""
        rules = set(self.warning_rules)
        return any(rules & REASON_RULES[r] for r in self.label.reasons)


# Which rules speak to each label reason (rules/recommendations/*.yaml).
REASON_RULES: dict[str, set[str]] = {
    "dose": {"high-dose-risk-assessment", "reauthorisation-taper", "escalation"},
    "sedative": {"opioid-sedative"},
    "gabapentinoid": {"opioid-gabapentinoid"},
}


def service_ids(client: TestClient) -> dict[str, str]:
    """hook → service id, from discovery (ids may change; hooks do not)."""
    services = client.get("/cds-services").json()["services"]
    out: dict[str, str] = {}
    for s in services:
        out.setdefault(s["hook"], s["id"])
    return out


def _findings(card: dict[str, Any]) -> list[str]:
    return [f["rule"] for f in card.get("extension", {}).get(FINDINGS, [])]


def run(events: Sequence[Event]) -> list[Outcome]:
    """Every event through the real app, with the clock fixed at ``NOW``."""
    # In process, no network: client trust (issue 12) has nothing to check here.
    app = create_app(Settings(auth="off"))
    outcomes = []
    logging.disable(logging.INFO)  # one request log line per event is noise here
    with TestClient(app) as client:
        app.dependency_overrides[now_dependency] = lambda: NOW
        try:
            ids = service_ids(client)
            dictionary = app.state.pipeline.dictionary
            for event in events:
                _, body = hook_request(event.scenario(), dictionary)
                response = client.post(f"/cds-services/{ids[event.hook]}", json=body)
                cards = response.json().get("cards", []) if response.status_code == 200 else []
                warnings = [c for c in cards if c["indicator"] in WARNING_INDICATORS]
                infos = [c for c in cards if c["indicator"] not in WARNING_INDICATORS]
                outcomes.append(
                    Outcome(
                        event=event.id,
                        kind=event.kind,
                        hook=event.hook,
                        description=event.describe(),
                        label=event.label(),
                        status=response.status_code,
                        cards=len(cards),
                        warnings=len(warnings),
                        infos=len(infos),
                        warning_rules=[r for c in warnings for r in _findings(c)],
                        info_rules=[r for c in infos for r in _findings(c)],
                    )
                )
        finally:
            app.dependency_overrides.clear()
            logging.disable(logging.NOTSET)
    return outcomes


# --- the figures ---------------------------------------------------------------------------


def _share(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def summarise(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    n = len(outcomes)
    opioid = [o for o in outcomes if o.label.opioid_proposed]
    high = [o for o in outcomes if o.label.high_risk]
    low_opioid = [o for o in opioid if not o.label.high_risk]
    controls = [o for o in outcomes if o.label.control]
    missed = [o for o in high if not o.warned]
    off_reason = [o for o in high if o.warned and not o.warned_for_reason()]
    for_reason = [o for o in high if o.warned_for_reason()]
    cancer = [o for o in outcomes if o.label.reasons and o.label.cancer_or_palliative]
    false_alarms = [o for o in low_opioid if o.warned]
    leading = Counter(r for o in false_alarms for r in o.warning_rules)
    by_reason = {
        reason: {
            "events": len(group := [o for o in high if reason in o.label.reasons]),
            "warned": sum(o.warned for o in group),
            "warned_for_reason": sum(
                bool(set(o.warning_rules) & REASON_RULES[reason]) for o in group
            ),
        }
        for reason in REASON_RULES
    }
    by_kind = {
        kind: {
            "events": len(group := [o for o in outcomes if o.kind == kind]),
            "cards": sum(o.cards for o in group),
            "warning_cards": sum(o.warnings for o in group),
            "high_risk": sum(o.label.high_risk for o in group),
            "high_risk_warned": sum(o.label.high_risk and o.warned for o in group),
        }
        for kind, _ in Generator.KINDS
    }
    return {
        "seed": SEED,
        "clock": NOW.isoformat(),
        "events": n,
        "opioid_prescribing_events": len(opioid),
        "non_200_responses": sum(o.status != 200 for o in outcomes),
        "cards": sum(o.cards for o in outcomes),
        "warning_cards": sum(o.warnings for o in outcomes),
        "cards_per_event": round(sum(o.cards for o in outcomes) / n, 3) if n else None,
        "warning_cards_per_event": round(sum(o.warnings for o in outcomes) / n, 3) if n else None,
        "warnings_per_100_opioid_events": _share(sum(o.warnings for o in opioid), len(opioid)),
        "calls_with_more_than_one_warning": [o.event for o in outcomes if o.warnings > 1],
        "high_risk_events": len(high),
        "high_risk_warned": len(high) - len(missed),
        "high_risk_warned_percent": _share(len(high) - len(missed), len(high)),
        "high_risk_warned_for_reason": len(for_reason),
        "high_risk_warned_for_reason_percent": _share(len(for_reason), len(high)),
        "high_risk_by_reason": by_reason,
        "high_risk_missed": [_row(o) for o in missed],
        "high_risk_warned_for_another_reason": [_row(o) for o in off_reason],
        "cancer_or_palliative_events_meeting_a_criterion": len(cancer),
        "cancer_or_palliative_warned": [o.event for o in cancer if o.warned],
        "low_risk_opioid_events": len(low_opioid),
        "low_risk_opioid_events_warned": len(false_alarms),
        "false_alarm_percent": _share(len(false_alarms), len(low_opioid)),
        "false_alarm_rules": dict(leading.most_common()),
        "control_events": len(controls),
        "control_events_warned": [o.event for o in controls if o.warned],
        "by_kind": by_kind,
    }


def _row(o: Outcome) -> dict[str, Any]:
    return {
        "event": o.event,
        "kind": o.kind,
        "hook": o.hook,
        "reasons": o.label.reasons,
        "total_ome_mg_per_day": o.label.total_ome_mg_per_day,
        "warning_rules": o.warning_rules,
        "info_rules": o.info_rules,
        "description": o.description,
    }


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g}%"


def rules_by_hook() -> dict[str, list[str]]:
    """hook → the rule ids whose file lists it (rules/recommendations/*.yaml ``hooks``)."""
    out: dict[str, list[str]] = {}
    for path in sorted((REPO / "rules" / "recommendations").glob("*.yaml")):
        rule = yaml.safe_load(path.read_text("utf-8"))
        for hook in rule.get("hooks", []):
            out.setdefault(hook, []).append(rule["id"])
    return out


METHOD = """\
## Method

`tools/alert_burden.py` generates {events} synthetic prescribing events from
`random.Random({seed})` (no other randomness; the first *n* events are the same whatever the
run's size): acute GP prescriptions (mostly codeine, co-codamol, tramadol), strong opioids
started or added (morphine MR and IR, oxycodone MR and IR, fentanyl and buprenorphine
patches), dose changes of the same medicine (with and without a link to the old
prescription), repeat re-authorisations (`medication-refill`, or `order-sign` with a
`priorPrescription`), gabapentinoids, benzodiazepines and Z-drugs started for patients on an
opioid or not, hospital discharges (`encounter-discharge`, or the discharge prescription
signed with `order-sign`, with and without a weaning plan, 5 to 14 days' supply), and
amoxicillin as a non-opioid control. Doses run from low to high within licensed maxima; a
tenth of patients have an active cancer or palliative-care record, a few a resolved cancer
(which does not count), and some a non-cancer pain condition or "malignant hypertension".
Every event is built with `tests/scenarios/builder.py` and sent to the real app
(`service.main.create_app`, FastAPI TestClient) at the service id that `GET /cds-services`
gives for its hook, with the clock fixed at {clock}.

Each event carries a **label** computed from what the generator made, not from the service:
it is **high-risk** when the patient has no active cancer or palliative-care record and the
event's proposal (a) is an opioid and brings the total to **≥ 120 mg OME/day** (factors
copied into the tool from `rules/ome/factors.csv`, profile `uk-opioids-aware`: codeine and
tramadol 0.1, morphine 1, oxycodone 1.5, fentanyl and buprenorphine patches 2.4 per
microgram/hour, the fentanyl "12" patch at 12.5; a change or re-issue replaces the
prescription it changes, a different medicine is added), or (b) puts an opioid together with a
**benzodiazepine or Z-drug**, or (c) with a **gabapentinoid**, the proposal being one of the
pair. Amoxicillin is never high-risk, whatever the patient takes. A *warning card* is a card
whose indicator is `warning` or `critical`. An *opioid prescribing event* is one whose
proposal includes an opioid; the *false-alarm burden* is the share of opioid prescribing
events not labelled high-risk that still got a warning card.
"""

LIMITS = """\
## Limits: what the numbers do not show

- The events are synthetic and their mix is the generator's weights, not a practice's or a
  hospital's case mix: "warnings per 100 opioid prescribing events" describes this mix, and
  the same service would give a different figure on real prescribing.
- The label is deliberately narrow (three criteria). Rules that warn for other reasons
  (escalation of 50% or more, two opioids at once, discharge supply over 7 days, no weaning
  plan, a modified-release opioid started at discharge) count as "false alarms" here though
  they are guideline-based; the table of rules on those warnings shows which they are.
- Every dose is a plain, fully parsed sig (no "when required", ranges or free-text oddities),
  every medicine is coded (amoxicillin aside, sent by name as it is not in
  `rules/medicines`), and every call has complete prefetch: the figures say nothing about
  unresolved medicines, incomplete records or prefetch failures.
- Cards are counted, not read: nothing here measures whether a card's text is right, whether
  it would be read, overridden or acted on, or the harm it prevents. Re-issuing a repeat
  every 28 days would repeat its warning each time; real burden depends on how often a
  practice re-authorises.
"""


def markdown(s: dict[str, Any]) -> str:
    out = [
        "# Alert burden (issue 11 item 5)",
        "",
        "Generated by `make burden` (`tools/alert_burden.py`); do not edit by hand. "
        f"Seed {s['seed']}, {s['events']} events, clock {s['clock']}.",
        "",
        METHOD.format(events=s["events"], seed=s["seed"], clock=s["clock"]),
        "## Figures",
        "",
        "| Figure | Value |",
        "|---|---|",
        f"| Events | {s['events']} |",
        f"| Opioid prescribing events | {s['opioid_prescribing_events']} |",
        f"| Cards per event | {s['cards_per_event']} |",
        f"| Warning cards per event | {s['warning_cards_per_event']} |",
        f"| Warning cards per 100 opioid prescribing events | "
        f"{s['warnings_per_100_opioid_events']} |",
        f"| Labelled high-risk events given a warning card | {s['high_risk_warned']} of "
        f"{s['high_risk_events']} ({_pct(s['high_risk_warned_percent'])}) |",
        f"| ... whose warning card names a label reason | {s['high_risk_warned_for_reason']} of "
        f"{s['high_risk_events']} ({_pct(s['high_risk_warned_for_reason_percent'])}) |",
        f"| Low-risk opioid events given a warning card (false-alarm burden) | "
        f"{s['low_risk_opioid_events_warned']} of {s['low_risk_opioid_events']} "
        f"({_pct(s['false_alarm_percent'])}) |",
        f"| Cancer or palliative-care events meeting a criterion given a warning card | "
        f"{len(s['cancer_or_palliative_warned'])} of "
        f"{s['cancer_or_palliative_events_meeting_a_criterion']} |",
        f"| Non-opioid controls given a warning card | {len(s['control_events_warned'])} of "
        f"{s['control_events']} |",
        f"| Calls with more than one warning card | {len(s['calls_with_more_than_one_warning'])} |",
        f"| Responses other than 200 | {s['non_200_responses']} |",
        "",
        "High-risk events by reason (an event may have more than one):",
        "",
        "| Reason | Events | Given a warning card | Warning card names the reason |",
        "|---|---|---|---|",
    ]
    for reason, r in s["high_risk_by_reason"].items():
        out.append(f"| {reason} | {r['events']} | {r['warned']} | {r['warned_for_reason']} |")
    out += [
        "",
        "By kind of event:",
        "",
        "| Kind | Events | Cards | Warning cards | High-risk | High-risk warned |",
        "|---|---|---|---|---|---|",
    ]
    for kind, k in s["by_kind"].items():
        out.append(
            f"| {kind} | {k['events']} | {k['cards']} | {k['warning_cards']} | "
            f"{k['high_risk']} | {k['high_risk_warned']} |"
        )
    out += ["", "Rules on the warning cards of low-risk opioid events (false alarms):", ""]
    out += [f"- `{rule}`: {count}" for rule, count in s["false_alarm_rules"].items()] or ["- none"]
    missed = s["high_risk_missed"]
    out += ["", "## High-risk events with no warning card", ""]
    if missed:
        hooks = Counter(m["hook"] for m in missed)
        by_hook = rules_by_hook()
        out.append(
            f"{len(missed)} of {s['high_risk_events']} labelled high-risk events got no warning "
            "card. By hook: "
            + "; ".join(
                f"`{hook}` {n} (the rules that run at `{hook}`: "
                + ", ".join(f"`{r}`" for r in by_hook.get(hook, []))
                + ")"
                for hook, n in hooks.most_common()
            )
            + "."
        )
        out.append("")
    out += [_miss(m) for m in missed] or ["None."]
    others = s["high_risk_warned_for_another_reason"]
    out += [
        "",
        "## High-risk events warned only for another reason",
        "",
        "The warning card carries none of the rules for the label's reasons "
        "(`dose`: high-dose-risk-assessment, reauthorisation-taper or escalation; `sedative`: "
        "opioid-sedative; `gabapentinoid`: opioid-gabapentinoid).",
        "",
    ]
    out += [_miss(m) for m in others] or ["None."]
    out += ["", LIMITS]
    return "\n".join(out)


def _miss(m: dict[str, Any]) -> str:
    cards = f"warning card: {', '.join(m['warning_rules']) or 'none'}; info card: "
    cards += ", ".join(m["info_rules"]) or "none"
    return (
        f"- **{m['event']}** ({m['kind']}; {', '.join(m['reasons'])}; label total "
        f"{m['total_ome_mg_per_day']:g} mg OME/day; {cards}): {m['description']}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("-n", "--events", type=int, default=DEFAULT_EVENTS)
    parser.add_argument("--json", action="store_true", help="JSON instead of Markdown")
    parser.add_argument(
        "--with-events", action="store_true", help="with --json: also every event and outcome"
    )
    args = parser.parse_args(argv)
    outcomes = run(generate(args.events))
    summary = summarise(outcomes)
    if args.json:
        if args.with_events:
            summary["outcomes"] = [asdict(o) for o in outcomes]
        print(json.dumps(summary, indent=2))
    else:
        print(markdown(summary), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
