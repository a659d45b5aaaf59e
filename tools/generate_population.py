"""A synthetic population as a FHIR Bulk Data export, for Find (issue 15): realistic in shape,
reproducible by seed, and made from the project's own UK product list.

    .venv/bin/python tools/generate_population.py --patients 10000 --seed 15 --out /tmp/pop

Writes ``Patient.ndjson``, ``Organization.ndjson``, ``Medication.ndjson``,
``MedicationRequest.<n>.ndjson``, ``MedicationStatement.ndjson`` and ``Condition.ndjson``
(``--gzip`` for ``.ndjson.gz``). What it makes, per patient, all from ``random.Random(seed)``:

- a practice (Organization with an ODS-style code), as ``generalPractitioner``; a few
  patients give only ``managingOrganization``;
- about one in eight an opioid: products are real dm+d VMPs from
  ``rules/medicines/dmd_products.csv`` (codeine, co-codamol, tramadol, morphine, oxycodone,
  fentanyl and buprenorphine patches...), coded as dm+d or SNOMED CT, some by
  ``medicationReference`` to a Medication, some by text only;
- free-text sigs as GP systems write them ("1-2 QDS PRN", "ONE to be taken twice a day"),
  some structured dosage;
- history: earlier courses stopped, dose escalations (a lower-dose course stopped and a
  higher one started), repeat prescriptions over two years;
- GP Connect style duplicates: a MedicationStatement beside its MedicationRequest
  (``basedOn``), and the same request sent twice;
- co-prescribing: opioid patients are more likely to have a gabapentinoid, a benzodiazepine
  or a Z-drug; some without an opioid have one of those alone;
- cancer or palliative care (SNOMED CT codes from ``rules/codesets/cancer_palliative.csv``)
  for a few opioid patients; other conditions for some.

Nothing here is a real patient; ids are random UUIDs from the seed.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import random
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parents[1]
DMD = "https://dmd.nhs.uk"
SNOMED = "http://snomed.info/sct"
ODS = "https://fhir.nhs.uk/Id/ods-organization-code"
AS_OF = date(2026, 11, 22)
#: Resources per MedicationRequest file (``MedicationRequest.<n>.ndjson``), as servers chunk.
CHUNK = 50_000

# Products by how often UK primary care prescribes them (rough shares of opioid items:
# codeine and co-codamol most, then tramadol, morphine, oxycodone, patches).
OPIOIDS: list[tuple[str, float]] = [
    ("Codeine 30mg tablets", 12),
    ("Co-codamol 30mg/500mg tablets", 20),
    ("Co-codamol 8mg/500mg tablets", 6),
    ("Co-dydramol 10mg/500mg tablets", 4),
    ("Tramadol 50mg capsules", 14),
    ("Tramadol 100mg modified-release tablets", 3),
    ("Morphine 10mg modified-release tablets", 4),
    ("Morphine 30mg modified-release tablets", 3),
    ("Morphine 60mg modified-release tablets", 1.5),
    ("Morphine sulfate 10mg/5ml oral solution", 4),
    ("Oxycodone 5mg capsules", 2),
    ("Oxycodone 20mg modified-release tablets", 1.5),
    ("Oxycodone 40mg modified-release tablets", 0.8),
    ("Buprenorphine 5micrograms/hour transdermal patches", 3),
    ("Buprenorphine 10micrograms/hour transdermal patches", 2),
    ("Fentanyl 25micrograms/hour transdermal patches", 1.5),
    ("Fentanyl 50micrograms/hour transdermal patches", 0.8),
    ("Dihydrocodeine 30mg tablets", 2),
    ("Tapentadol 50mg modified-release tablets", 0.6),
]
GABAPENTINOIDS = [("Gabapentin 300mg capsules", 5), ("Pregabalin 75mg capsules", 4)]
SEDATIVES = [
    ("Diazepam 5mg tablets", 4),
    ("Diazepam 2mg tablets", 3),
    ("Lorazepam 1mg tablets", 1),
    ("Zopiclone 7.5mg tablets", 4),
    ("Zolpidem 10mg tablets", 1),
    ("Temazepam 10mg tablets", 1),
]
ORAL_SIGS = [
    ("ONE to be taken four times a day when required", 1, 4, True),
    ("1-2 QDS PRN", 2, 4, True),
    ("take one or two every 4-6 hours when required, max 8 in 24 hours", 2, 4, True),
    ("ONE twice a day", 1, 2, False),
    ("1 BD", 1, 2, False),
    ("take 2 tablets three times a day", 2, 3, False),
    ("one at night", 1, 1, False),
    ("as directed", 1, 1, False),  # no dose to read: unresolved, as in real records
    ("TWO tablets to be taken every six hours", 2, 4, False),
]
LIQUID_SIGS = [("5ml every 4 hours when required", 5, 6, True), ("2.5ml-5ml QDS PRN", 5, 4, True)]
PATCH_SIGS = ["apply ONE patch every 72 hours", "apply one patch every 7 days", "1 patch weekly"]
OTHER_CONDITIONS = [
    ("38341003", "Hypertensive disorder"),
    ("44054006", "Diabetes mellitus type 2"),
    ("279039007", "Low back pain"),
    ("396275006", "Osteoarthritis"),
    ("35489007", "Depressive disorder"),
]


def products() -> dict[str, dict[str, str]]:
    text = (REPO / "rules/medicines/dmd_products.csv").read_text("utf-8")
    rows = csv.DictReader(io.StringIO(text))
    return {r["name"]: r for r in rows if r["concept_type"] == "VMP"}


def cancer_codes() -> list[tuple[str, str]]:
    text = (REPO / "rules/codesets/cancer_palliative.csv").read_text("utf-8")
    rows = csv.DictReader(io.StringIO(text))
    return [
        (r["code"], r["display"])
        for r in rows
        if r["system"] == SNOMED and r["match"] == "exact" and r["code"] != "*"
    ][:40]


class Writer:
    def __init__(self, out: Path, compress: bool) -> None:
        self.out, self.compress = out, compress
        self.files: dict[str, IO[str]] = {}
        self.counts: dict[str, int] = {}

    def write(self, resource: dict[str, Any]) -> None:
        rtype = resource["resourceType"]
        n = self.counts.get(rtype, 0)
        self.counts[rtype] = n + 1
        name = f"{rtype}.{n // CHUNK + 1}" if rtype == "MedicationRequest" else rtype
        if name not in self.files:
            suffix = ".ndjson.gz" if self.compress else ".ndjson"
            path = self.out / f"{name}{suffix}"
            self.files[name] = (
                gzip.open(path, "wt", encoding="utf-8")
                if self.compress
                else path.open("w", encoding="utf-8")
            )
        self.files[name].write(json.dumps(resource, separators=(",", ":")) + "\n")

    def close(self) -> None:
        for f in self.files.values():
            f.close()


class Generator:
    def __init__(self, seed: int, practices: int, as_of: date) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - reproducible synthetic data, not secrets
        self.as_of = as_of
        self.products = products()
        self.cancer = cancer_codes()
        self.practices = [self._practice(i) for i in range(practices)]
        # A practice's own prescribing habit: some prescribe opioids much more than others.
        self.habit = [self.rng.lognormvariate(0, 0.45) for _ in self.practices]
        self.medications: dict[str, dict[str, Any]] = {}

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _practice(self, i: int) -> dict[str, Any]:
        code = f"{'ABCDEFGHJKLMNPY'[i % 15]}{81000 + i:05d}"
        return {
            "resourceType": "Organization",
            "id": f"org-{i}",
            "identifier": [{"system": ODS, "value": code}],
            "name": f"Practice {code}",
        }

    def pick(self, table: list[tuple[str, float]]) -> dict[str, str]:
        names = [n for n, _ in table if n in self.products]
        weights = [w for n, w in table if n in self.products]
        return self.products[self.rng.choices(names, weights)[0]]

    def patient(self, writer: Writer) -> None:
        rng = self.rng
        pid = self.uid()
        p = rng.randrange(len(self.practices))
        born = self.as_of - timedelta(days=rng.randint(18 * 365, 95 * 365))
        patient: dict[str, Any] = {
            "resourceType": "Patient",
            "id": pid,
            "gender": rng.choice(["male", "female", "female", "male", "unknown"]),
            "birthDate": born.isoformat(),
        }
        ref = {"reference": f"Organization/{self.practices[p]['id']}"}
        if rng.random() < 0.03:
            patient["managingOrganization"] = ref
        else:
            patient["generalPractitioner"] = [ref]
        writer.write(patient)
        habit = self.habit[p]
        opioid = rng.random() < 0.12 * habit
        if opioid:
            self.opioid_history(writer, pid)
            if rng.random() < 0.05:
                self.condition(writer, pid, *rng.choice(self.cancer))
        if rng.random() < (0.25 if opioid else 0.03):
            self.course(writer, pid, self.pick(GABAPENTINOIDS), long=True)
        if rng.random() < (0.18 if opioid else 0.03):
            self.course(writer, pid, self.pick(SEDATIVES), long=rng.random() < 0.5)
        if rng.random() < 0.3:
            self.condition(writer, pid, *rng.choice(OTHER_CONDITIONS))

    def opioid_history(self, writer: Writer, pid: str) -> None:
        rng = self.rng
        product = self.pick(OPIOIDS)
        if rng.random() < 0.3:  # an earlier, stopped course
            self.course(writer, pid, self.pick(OPIOIDS), long=False, stopped=True)
        if rng.random() < 0.12:  # escalation: a lower dose stopped a few weeks ago
            self.course(writer, pid, product, long=False, stopped=True, ago=(30, 80), units=1)
            self.course(writer, pid, product, long=True, ago=(5, 40), units=2)
        else:
            self.course(writer, pid, product, long=rng.random() < 0.6)
        if rng.random() < 0.07:  # a second opioid
            self.course(writer, pid, self.pick(OPIOIDS), long=True)

    def course(
        self,
        writer: Writer,
        pid: str,
        product: dict[str, str],
        *,
        long: bool,
        stopped: bool = False,
        ago: tuple[int, int] | None = None,
        units: int | None = None,
    ) -> None:
        rng = self.rng
        low, high = ago or ((90, 720) if long else (1, 300))
        started = self.as_of - timedelta(days=rng.randint(low, high))
        request: dict[str, Any] = {
            "resourceType": "MedicationRequest",
            "id": self.uid(),
            "status": "stopped" if stopped else rng.choice(["active"] * 9 + ["completed"]),
            "intent": "order",
            "subject": {"reference": f"Patient/{pid}"},
            "authoredOn": started.isoformat(),
            **self.medication(writer, product),
            "dosageInstruction": [self.dosage(product, units)],
            "dispenseRequest": {
                "numberOfRepeatsAllowed": rng.choice([0, 2, 5, 11]),
                "expectedSupplyDuration": {
                    "value": 28,
                    "unit": "days",
                    "system": "http://unitsofmeasure.org",
                    "code": "d",
                },
            },
        }
        writer.write(request)
        r = rng.random()
        if r < 0.15:  # GP Connect: the statement of the same medicine, based on the plan
            writer.write(
                {
                    "resourceType": "MedicationStatement",
                    "id": self.uid(),
                    "status": "active" if request["status"] == "active" else "stopped",
                    "basedOn": [{"reference": f"MedicationRequest/{request['id']}"}],
                    "subject": {"reference": f"Patient/{pid}"},
                    "effectivePeriod": {"start": started.isoformat()},
                    **{k: request[k] for k in request if k.startswith("medication")},
                    "dosage": request["dosageInstruction"],
                }
            )
        elif r < 0.2:  # the same request twice (two feeds merged)
            writer.write(request)

    def medication(self, writer: Writer, product: dict[str, str]) -> dict[str, Any]:
        rng = self.rng
        coding = {
            "system": rng.choice([DMD, SNOMED]),
            "code": product["code"],
            "display": product["name"],
        }
        how = rng.random()
        if how < 0.2:
            mid = f"med-{product['code']}"
            if mid not in self.medications:
                self.medications[mid] = {
                    "resourceType": "Medication",
                    "id": mid,
                    "code": {"coding": [coding], "text": product["name"]},
                }
                writer.write(self.medications[mid])
            return {"medicationReference": {"reference": f"Medication/{mid}"}}
        if how < 0.25:
            return {"medicationCodeableConcept": {"text": product["name"]}}
        return {"medicationCodeableConcept": {"coding": [coding], "text": product["name"]}}

    def dosage(self, product: dict[str, str], units: int | None) -> dict[str, Any]:
        rng = self.rng
        if product["dose_form"].endswith("patch"):
            return {"text": rng.choice(PATCH_SIGS)}
        liquid = "solution" in product["dose_form"]
        text, per_dose, per_day, prn = rng.choice(LIQUID_SIGS if liquid else ORAL_SIGS)
        if units is not None and not liquid:
            return {"text": f"{units} {'tablets' if units > 1 else 'tablet'} twice a day"}
        if rng.random() < 0.2 and not liquid:  # structured, as some systems send
            return {
                "text": text,
                "asNeededBoolean": prn,
                "timing": {"repeat": {"frequency": per_day, "period": 1, "periodUnit": "d"}},
                "doseAndRate": [{"doseQuantity": {"value": per_dose, "unit": "tablet"}}],
            }
        return {"text": text}

    def condition(self, writer: Writer, pid: str, code: str, display: str) -> None:
        writer.write(
            {
                "resourceType": "Condition",
                "id": self.uid(),
                "clinicalStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                            "code": "active",
                        }
                    ]
                },
                "code": {"coding": [{"system": SNOMED, "code": code, "display": display}]},
                "subject": {"reference": f"Patient/{pid}"},
            }
        )


def generate(
    out: Path, patients: int, seed: int, practices: int | None = None, compress: bool = False
) -> dict[str, int]:
    out.mkdir(parents=True, exist_ok=True)
    gen = Generator(seed, practices or max(5, patients // 2000), AS_OF)
    writer = Writer(out, compress)
    try:
        for practice in gen.practices:
            writer.write(practice)
        for _ in range(patients):
            gen.patient(writer)
    finally:
        writer.close()
    return writer.counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--practices", type=int, default=None)
    parser.add_argument("--gzip", action="store_true")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    counts = generate(args.out, args.patients, args.seed, args.practices, args.gzip)
    print(json.dumps(counts, indent=2))


if __name__ == "__main__":
    main()
