"""Find's per-patient function (issue 15): named vignettes in boundary pairs, on a fixed date.

Each finding is the prescribing rule's own condition on the current regimen, with the rule's
parameters (rules/recommendations/): high dose at 120 mg OME/day, escalation at a rise of
50% from the total 56 days before (rules/parameters.yaml escalation_lookback_days).
"""

from __future__ import annotations

import functools
import json
from datetime import date
from typing import Any

from service.config import Settings
from service.fhir.bulk import ODS_SYSTEM, patient_organisation
from service.find.outputs import period_ends
from service.find.patient import FindContext, assess_patient, patient_key
from service.pipeline import Pipeline
from service.storage import pseudonym
from tests.unit.ome.fhir_builders import (
    DIAZEPAM_2,
    MORPHINE_MR_10,
    MORPHINE_MR_30,
    MORPHINE_MR_60,
    Med,
    request,
    tablets,
)

GABAPENTIN_CAPS_300 = Med("Gabapentin 300mg capsules", "42129711000001109")
AS_OF = date(2026, 11, 22)
PID = "p1"
CTX = FindContext(
    as_of=AS_OF,
    profile_id=None,
    period_ends=period_ends(AS_OF, "2026-01-01", 13),
    organisations={"Organization/o1": "A81001"},
    kinds=frozenset({"conditions", "patient"}),
    pseudonym_key="test key",
)


@functools.cache
def pipeline() -> Pipeline:
    return Pipeline(Settings())


def assess(*resources: dict[str, Any]) -> dict[str, Any]:
    patient = {"resourceType": "Patient", "id": PID, "birthDate": "1960-01-01"}
    for r in resources:
        r.setdefault("subject", {"reference": f"Patient/{PID}"})
    entries = [(None, json.dumps(r)) for r in (patient, *resources)]
    return assess_patient(pipeline(), CTX, PID, entries)


def test_high_dose_at_the_threshold_fires() -> None:
    row = assess(request(MORPHINE_MR_60, text="1 twice a day", id="m"))  # 120
    assert row["total_ome_mg_per_day"] == 120 and row["high_dose"] is True
    assert row["in_scope"] and row["opioid"] and row["support_tier"] is not None


def test_high_dose_below_the_threshold_is_silent() -> None:
    row = assess(request(MORPHINE_MR_30, text="1 three times a day", id="m"))  # 90
    assert row["total_ome_mg_per_day"] == 90 and row["high_dose"] is False


def _earlier_course() -> dict[str, Any]:
    # 60 mg/day from August, stopped in October: active on 2026-09-27 (56 days before).
    return request(
        MORPHINE_MR_30,
        text="1 twice a day",
        id="before",
        status="stopped",
        authored_on="2026-08-01",
        dispense=(tablets(168), 84),
    )


def test_escalation_by_half_fires() -> None:
    now = request(MORPHINE_MR_30, text="1 three times a day", id="now", authored_on="2026-10-25")
    row = assess(_earlier_course(), now)  # 60 -> 90: +50%
    assert row["previous_total_ome_mg_per_day"] == 60
    assert row["total_ome_mg_per_day"] == 90 and row["escalation"] is True


def test_escalation_by_a_third_is_silent() -> None:
    row = assess(
        _earlier_course(),
        request(MORPHINE_MR_30, text="1 twice a day", id="now", authored_on="2026-10-25"),
        request(MORPHINE_MR_10, text="1 twice a day", id="add", authored_on="2026-10-25"),
    )  # 60 -> 80: +33%
    assert row["total_ome_mg_per_day"] == 80 and row["escalation"] is False


def test_new_start_is_not_an_escalation() -> None:
    row = assess(request(MORPHINE_MR_60, text="1 twice a day", id="m", authored_on="2026-11-01"))
    assert row["previous_total_ome_mg_per_day"] is None and row["escalation"] is False
    assert row["previous_total_status"] == "no opioid counted"


def test_opioid_with_gabapentinoid_fires() -> None:
    row = assess(
        request(MORPHINE_MR_10, text="1 twice a day", id="m"),
        request(GABAPENTIN_CAPS_300, text="1 three times a day", id="g"),
    )
    assert row["opioid_gabapentinoid"] is True


def test_gabapentinoid_alone_is_in_scope_without_co_prescribing() -> None:
    row = assess(request(GABAPENTIN_CAPS_300, text="1 three times a day", id="g"))
    assert row["in_scope"] and row["opioid_gabapentinoid"] is False and not row["opioid"]


def test_no_medicines_is_out_of_scope() -> None:
    row = assess()
    assert not row["in_scope"] and row["total_ome_mg_per_day"] is None
    assert row["total_status"] == "no opioid counted"


# Never counted as 0 (ADR 0001): an opioid that cannot be dosed leaves the total unknown or a
# lower bound, named; a lower bound at the threshold is high dose (as the reports count it),
# one below it is not known to be below.


def _undosed() -> dict[str, Any]:
    return request(MORPHINE_MR_30, id="undosed")  # no dosage instruction: unresolved


def test_an_undosed_opioid_alone_leaves_the_total_unknown_never_0() -> None:
    row = assess(_undosed())
    assert row["opioid"] and row["total_ome_mg_per_day"] is None
    assert row["total_status"] == "unknown" and row["high_dose"] is None
    assert row["unresolved_medicines"] == "Morphine 30mg modified-release tablets"


def test_a_benzodiazepine_alone_has_no_opioid_total() -> None:
    row = assess(request(DIAZEPAM_2, text="1 twice a day", id="d"))
    assert row["in_scope"] and not row["opioid"] and row["total_ome_mg_per_day"] is None
    assert row["total_status"] == "no opioid counted" and row["high_dose"] is False


def test_a_lower_bound_at_the_threshold_is_high_dose() -> None:
    row = assess(request(MORPHINE_MR_60, text="1 twice a day", id="m"), _undosed())
    assert row["total_ome_mg_per_day"] == 120 and row["total_status"] == "at least"
    assert row["high_dose"] is True


def test_a_lower_bound_below_the_threshold_is_not_known_to_be_below() -> None:
    row = assess(request(MORPHINE_MR_30, text="1 three times a day", id="m"), _undosed())
    assert row["total_ome_mg_per_day"] == 90 and row["total_status"] == "at least"
    assert row["high_dose"] is None and row["unresolved"] is True


def test_a_lower_bound_that_rose_by_half_is_an_escalation() -> None:
    now = request(MORPHINE_MR_30, text="1 three times a day", id="now", authored_on="2026-10-25")
    undosed = request(MORPHINE_MR_10, id="undosed", authored_on="2026-10-25")
    row = assess(_earlier_course(), now, undosed)  # 60 -> at least 90
    assert row["previous_total_status"] == "complete" and row["escalation"] is True


def test_a_lower_bound_that_rose_by_a_third_is_not_known_to_be_no_escalation() -> None:
    now = request(MORPHINE_MR_30, text="1 twice a day", id="now", authored_on="2026-10-25")
    add = request(MORPHINE_MR_10, text="1 twice a day", id="add", authored_on="2026-10-25")
    undosed = request(MORPHINE_MR_10, id="undosed", authored_on="2026-10-25")
    row = assess(_earlier_course(), now, add, undosed)  # 60 -> at least 80
    assert row["total_status"] == "at least" and row["escalation"] is None


def test_an_unreadable_record_is_reported_never_counted_as_zero() -> None:
    bad = {"resourceType": "MedicationRequest", "id": "x", "medicationCodeableConcept": "SECRET"}
    row = assess(bad)
    assert row["in_scope"] and row["unresolved"] is True
    assert row["total_ome_mg_per_day"] is None
    assert row["error"].startswith("the record could not be read") and "SECRET" not in row["error"]


def test_trend_has_a_point_per_period_and_leaves_out_later_starts() -> None:
    row = assess(request(MORPHINE_MR_60, text="1 twice a day", id="m", authored_on="2026-11-01"))
    points = row["trend"].split(";")
    assert len(points) == len(CTX.period_ends)
    assert points[-1] == "120.0:1:0" and points[-2] == "0.0:0:0"


# The trend's past: an opioid stopped since that states neither an end nor a supply cannot
# be placed in time. A period after its start counts the patient as "not known" (perhaps on
# it then), never silently as not on opioids; one whose supply places its end does not.


def test_a_stopped_opioid_with_no_end_is_not_known_in_later_periods() -> None:
    stopped = request(
        MORPHINE_MR_30, text="1 twice a day", id="s", status="stopped", authored_on="2026-03-01"
    )
    points = assess(stopped)["trend"].split(";")
    ends = CTX.period_ends
    assert [p.split(":")[2] for p in points[:-1]] == [
        "1" if end >= date(2026, 3, 1) else "0" for end in ends[:-1]
    ]
    assert "1" in [p.split(":")[2] for p in points]
    assert points[-1] == "0.0:0:0"  # as of now it is known: stopped


def test_a_stopped_opioid_whose_supply_places_its_end_is_known() -> None:
    placed = request(
        MORPHINE_MR_30,
        text="1 twice a day",
        id="s",
        status="stopped",
        authored_on="2026-03-01",
        dispense=(tablets(112), 56),
    )
    points = assess(placed)["trend"].split(";")
    assert all(p.split(":")[2] == "0" for p in points)
    # On it at the period end within its 56 days (2026-04-12), not before or after.
    on = [end for end, p in zip(CTX.period_ends, points, strict=True) if p.split(":")[1] == "1"]
    assert on == [date(2026, 4, 12)]


def test_patient_key_is_a_keyed_hash() -> None:
    assert patient_key("a", PID) == patient_key("a", PID) != patient_key("b", PID)
    assert PID not in patient_key("a", PID) and len(patient_key("a", PID)) == 64
    # The audit's key for the same patient: Find's worklist and the reports can be compared.
    assert patient_key("a", PID) == pseudonym.patient_key("a", PID)


def test_organisation_is_the_gp_practice_ods_code() -> None:
    patient = {
        "generalPractitioner": [
            {"reference": "Practitioner/dr"},
            {"reference": "Organization/o1"},
        ],
        "managingOrganization": {"reference": "Organization/o2"},
    }
    assert patient_organisation(patient, CTX.organisations) == "A81001"


def test_organisation_falls_back_to_managing_organisation_and_its_id() -> None:
    patient = {
        "generalPractitioner": [{"reference": "Practitioner/dr"}],
        "managingOrganization": {"reference": "Organization/o2"},
    }
    assert patient_organisation(patient, CTX.organisations) == "o2"
    by_identifier = {"generalPractitioner": [{"identifier": {"system": ODS_SYSTEM, "value": "Y1"}}]}
    assert patient_organisation(by_identifier, {}) == "Y1"
    assert patient_organisation({}, {}) is None
