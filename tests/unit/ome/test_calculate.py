"""OME of one prescription, as a clinician would write it: every form a real client sends.

Each vignette is one MedicationRequest (or MedicationStatement) built the way UK systems
send it, run through identification, daily dose and conversion exactly as the engine does
(``fhir_builders.assess_resource``). Every OME is asserted to 0.1 mg/day. Where a detail
decides the answer, the vignettes come in pairs that differ only in that detail.
"""

from __future__ import annotations

from typing import Any

import pytest

from service.medicines.model import IngredientClass
from service.ome.calculate import Flag, MedicationOme, Status
from tests.unit.ome.fhir_builders import (
    AMOXICILLIN_500,
    BUPRENORPHINE_PATCH_10,
    CO_CODAMOL_8_500,
    CO_CODAMOL_30_500,
    CO_DYDRAMOL_10_500,
    DIAMORPHINE_INJECTION_30,
    DIAZEPAM_2,
    DMD,
    DMD_SLASH,
    EPIDURAL,
    FENTANYL_PATCH_12,
    FENTANYL_PATCH_25,
    GABAPENTIN_GEL,
    INTRAVENOUS,
    METHADONE_SOLUTION_1MG_ML,
    METHADONE_TABLETS_5,
    MORPHINE_GEL,
    MORPHINE_INJECTION_10_1,
    MORPHINE_MR_10,
    MORPHINE_MR_10_OLD_ID,
    MORPHINE_MR_30,
    MORPHINE_MR_60,
    MORPHINE_SOLUTION_10_5,
    MORPHINE_VTM,
    ORAL,
    OXYCODONE_CAPS_5,
    OXYCODONE_MR_40,
    OXYCODONE_NALOXONE_10_5,
    PREGABALIN_CAPS_300,
    SNOMED,
    SUBCUTANEOUS,
    SUBUTEX_8,
    TAPENTADOL_50,
    TOPICAL,
    TRAMADOL_CAPS_50,
    UK,
    US,
    Med,
    ampoules,
    assess_resource,
    capsules,
    days,
    dosage,
    hours,
    mg,
    ml,
    patches,
    quantity,
    request,
    statement,
    tablets,
)

FENTANYL_NASAL_100 = Med("Fentanyl 100micrograms/dose nasal spray", "16037611000001101")
HYDROMORPHONE_CAPS_1_3 = Med("Hydromorphone 1.3mg capsules", "322665006")


def calc(case_id: str, resource: dict[str, Any], ome: float, **kw: Any) -> Any:
    """A vignette that must be calculated. ``kw``: profile, flags (set of Flag)."""
    return pytest.param(resource, ome, kw.get("profile", UK), kw.get("flags", set()), id=case_id)


def tablets_bd(med: Med, count: float = 1, **kw: Any) -> dict[str, Any]:
    """``count`` tablets twice a day, structured (R4)."""
    return request(med, dosage(dose=tablets(count), frequency=2, period=1, period_unit="d", **kw))


# fmt: off
CALCULATED = [
    # -- modified-release tablets with a text sig
    calc("oxycodone-mr-40mg-1-twice-a-day", request(OXYCODONE_MR_40, text="1 twice a day"), 120.0),
    calc("morphine-mr-60mg-1-tablet-twice-a-day",
         request(MORPHINE_MR_60, text="1 tablet twice a day"), 120.0),
    calc("morphine-mr-60mg-1-tablet-once-a-day",
         request(MORPHINE_MR_60, text="1 tablet once a day"), 60.0),
    calc("morphine-mr-30mg-2-at-night", request(MORPHINE_MR_30, text="2 at night"), 60.0),
    calc("morphine-mr-30mg-TAKE-ONE-3-TIMES/DAY",
         request(MORPHINE_MR_30, text="TAKE ONE 3 TIMES/DAY"), 90.0),
    # -- structured dose and timing: R4 doseAndRate and STU3 doseQuantity give the same
    calc("morphine-mr-30mg-1-bd-structured-r4", tablets_bd(MORPHINE_MR_30), 60.0),
    calc("morphine-mr-30mg-1-bd-structured-stu3",
         request(MORPHINE_MR_30, dosage(dose=tablets(1), frequency=2, period=1, period_unit="d",
                                        stu3=True)), 60.0),
    calc("morphine-mr-30mg-1-bd-statement-stu3",
         statement(MORPHINE_MR_30, dosage(dose=tablets(1), frequency=2, period=1,
                                          period_unit="d", stu3=True)), 60.0),
    # -- doseRange counts its high end
    calc("oxycodone-5mg-1-to-2-every-4-hours-dose-range",
         request(OXYCODONE_CAPS_5, dosage(dose_range=(capsules(1), capsules(2)), frequency=1,
                                          period=4, period_unit="h")), 90.0),
    calc("oxycodone-5mg-1-every-4-hours-single-dose",
         request(OXYCODONE_CAPS_5, dosage(dose=capsules(1), frequency=1, period=4,
                                          period_unit="h")), 45.0),
    # -- frequencyMax over frequency
    calc("oxycodone-5mg-2-to-4-times-a-day-frequency-max",
         request(OXYCODONE_CAPS_5, dosage(dose=capsules(1), frequency=2, frequency_max=4,
                                          period=1, period_unit="d")), 30.0),
    calc("oxycodone-5mg-twice-a-day-no-frequency-max",
         request(OXYCODONE_CAPS_5, dosage(dose=capsules(1), frequency=2, period=1,
                                          period_unit="d")), 15.0),
    # -- period over periodMax: the shortest interval
    calc("oxycodone-5mg-every-4-to-6-hours-period-max",
         request(OXYCODONE_CAPS_5, dosage(dose=capsules(1), frequency=1, period=4, period_max=6,
                                          period_unit="h")), 45.0),
    calc("oxycodone-5mg-every-6-hours",
         request(OXYCODONE_CAPS_5, dosage(dose=capsules(1), frequency=1, period=6,
                                          period_unit="h")), 30.0),
    # -- periodUnit h, d, wk
    calc("morphine-mr-30mg-every-12-hours",
         request(MORPHINE_MR_30, dosage(dose=tablets(1), frequency=1, period=12,
                                        period_unit="h")), 60.0),
    calc("morphine-mr-30mg-once-a-day-period-1-d",
         request(MORPHINE_MR_30, dosage(dose=tablets(1), frequency=1, period=1,
                                        period_unit="d")), 30.0),
    calc("morphine-mr-30mg-twice-a-week-rounds-8.57-to-8.6",
         request(MORPHINE_MR_30, dosage(dose=tablets(1), frequency=2, period=1,
                                        period_unit="wk")), 8.6),
    # -- timeOfDay and when are counted
    calc("morphine-mr-30mg-at-08:00-and-20:00",
         request(MORPHINE_MR_30, dosage(dose=tablets(1), time_of_day=("08:00:00", "20:00:00"))),
         60.0),
    calc("morphine-mr-30mg-morning-and-night-when",
         request(MORPHINE_MR_30, dosage(dose=tablets(1), when=("MORN", "NIGHT"))), 60.0),
    calc("oxycodone-5mg-morning-afternoon-night-when",
         request(OXYCODONE_CAPS_5, dosage(dose=capsules(1), when=("MORN", "AFT", "NIGHT"))), 22.5),
    # -- when required: at the maximum, with or without a stated daily maximum
    calc("oxycodone-5mg-1-2-every-4h-prn-max-8-a-day",
         request(OXYCODONE_CAPS_5, dosage(dose_range=(capsules(1), capsules(2)), frequency=1,
                                          period=4, period_unit="h", as_needed=True,
                                          max_per_period=(capsules(8), days(1)))),
         60.0, flags={Flag.AS_NEEDED_MAXIMUM}),
    calc("oxycodone-5mg-1-2-every-4h-prn-no-max",
         request(OXYCODONE_CAPS_5, dosage(dose_range=(capsules(1), capsules(2)), frequency=1,
                                          period=4, period_unit="h", as_needed=True)),
         90.0, flags={Flag.AS_NEEDED_MAXIMUM}),
    calc("oxycodone-5mg-1-2-every-4h-prn-max-8-a-day-us-ignores-max",
         request(OXYCODONE_CAPS_5, dosage(dose_range=(capsules(1), capsules(2)), frequency=1,
                                          period=4, period_unit="h", as_needed=True,
                                          max_per_period=(capsules(8), days(1)))),
         90.0, profile=US, flags={Flag.AS_NEEDED_MAXIMUM}),
    calc("oxycodone-5mg-1-prn-max-4-in-24-hours-only",
         request(OXYCODONE_CAPS_5, dosage(dose=capsules(1), as_needed=True,
                                          max_per_period=(capsules(4), hours(24)))),
         30.0, flags={Flag.AS_NEEDED_MAXIMUM}),
    calc("co-codamol-8/500-2-every-4h-prn-max-6-doses-dose-syntax",
         request(CO_CODAMOL_8_500, dosage(dose=tablets(2), frequency=1, period=4, period_unit="h",
                                          as_needed=True,
                                          max_per_period=(quantity(6, "dose", "3317411000001100",
                                                                   SNOMED), hours(24)))),
         4.8, flags={Flag.AS_NEEDED_MAXIMUM}),
    # -- several dosage lines: concurrent lines add up; sequential ones give the highest day
    calc("morphine-mr-30mg-1-morning-2-night-two-structured-lines",
         request(MORPHINE_MR_30, dosage(dose=tablets(1), when=("MORN",)),
                 dosage(dose=tablets(2), when=("NIGHT",))), 90.0),
    calc("morphine-mr-30mg-1-morning-2-night-two-text-lines",
         request(MORPHINE_MR_30, dosage("1 in the morning"), dosage("2 at night")), 90.0),
    calc("morphine-mr-30mg-structured-morning-plus-text-night",
         request(MORPHINE_MR_30, dosage(dose=tablets(1), when=("MORN",)), dosage("2 at night")),
         90.0),
    calc("morphine-mr-30mg-1-bd-then-2-bd-sequential",
         request(MORPHINE_MR_30,
                 dosage(dose=tablets(1), frequency=2, period=1, period_unit="d", sequence=1),
                 dosage(dose=tablets(2), frequency=2, period=1, period_unit="d", sequence=2)),
         120.0),
    calc("morphine-mr-30mg-2-bd-then-1-bd-sequential-order-does-not-matter",
         request(MORPHINE_MR_30,
                 dosage(dose=tablets(2), frequency=2, period=1, period_unit="d", sequence=1),
                 dosage(dose=tablets(1), frequency=2, period=1, period_unit="d", sequence=2)),
         120.0),
    calc("morphine-mr-30mg-1-bd-then-2-bd-in-text",
         request(MORPHINE_MR_30, text="1 twice a day for 1 week then 2 twice a day"), 120.0),
    # -- infusions and syringe drivers: diamorphine 30 mg/24 h x 10/3 = 100.0
    calc("diamorphine-30mg-over-24h-rate-ratio",
         request(DIAMORPHINE_INJECTION_30, dosage(rate_ratio=(mg(30), hours(24)))), 100.0),
    calc("diamorphine-1.25mg-per-hour-rate-quantity",
         request(DIAMORPHINE_INJECTION_30, dosage(rate=quantity(1.25, "mg/h"))), 100.0),
    calc("diamorphine-30mg-over-24-hours-via-syringe-driver-text",
         request(DIAMORPHINE_INJECTION_30, text="30mg over 24 hours via syringe driver"), 100.0),
    calc("diamorphine-3mg-over-24h-rounds-to-10.0",
         request(DIAMORPHINE_INJECTION_30, dosage(rate_ratio=(mg(3), hours(24)))), 10.0),
    # -- free text
    calc("morphine-mr-10mg-1-tablet-twice-a-day-text",
         request(MORPHINE_MR_10, text="1 tablet twice a day"), 20.0),
    calc("oxycodone-5mg-one-or-two-every-4-6-hours-when-required-max-8",
         request(OXYCODONE_CAPS_5,
                 text="one or two every 4-6 hours when required, max 8 in 24 hours"),
         60.0, flags={Flag.AS_NEEDED_MAXIMUM}),
    calc("oxycodone-5mg-one-or-two-every-4-6-hours-when-required-no-max",
         request(OXYCODONE_CAPS_5, text="one or two every 4-6 hours when required"),
         90.0, flags={Flag.AS_NEEDED_MAXIMUM}),
    calc("oxycodone-5mg-one-or-two-4-6-hourly-prn-max-8-us-ignores-max",
         request(OXYCODONE_CAPS_5,
                 text="one or two every 4-6 hours when required, max 8 in 24 hours"),
         90.0, profile=US, flags={Flag.AS_NEEDED_MAXIMUM}),
    calc("morphine-mr-30mg-1-morning-2-night-text-us-is-3-a-day",
         request(MORPHINE_MR_30, text="1 in the morning and 2 at night"), 90.0, profile=US),
    calc("morphine-solution-10mg/5ml-10ml-four-times-a-day",
         request(MORPHINE_SOLUTION_10_5, text="10ml four times a day"), 80.0),
    calc("morphine-solution-10mg/5ml-10ml-qds-structured",
         request(MORPHINE_SOLUTION_10_5, dosage(dose=ml(10), frequency=4, period=1,
                                                period_unit="d")), 80.0),
    calc("fentanyl-25-apply-one-patch-every-72-hours",
         request(FENTANYL_PATCH_25, text="apply one patch every 72 hours"), 60.0),
    # -- quantity / supply duration when there is no dose at all
    calc("morphine-mr-30mg-56-tablets-for-28-days-no-sig",
         request(MORPHINE_MR_30, dispense=(tablets(56), 28)), 60.0),
    calc("co-codamol-30/500-timing-no-dose-20-tablets-10-days",
         request(CO_CODAMOL_30_500, dosage("2 times a day for 10 days", frequency=2, period=1,
                                           period_unit="d"), dispense=(tablets(20), 10)), 6.0),
    # -- a dose in mg overrides the product strength (cqframework MMEC-3)
    calc("oxycodone-mr-40mg-tablets-dose-20mg-twice-a-day",
         request(OXYCODONE_MR_40, dosage(dose=mg(20), frequency=2, period=1, period_unit="d")),
         60.0),
    calc("morphine-solution-10mg/5ml-dose-5mg-qds",
         request(MORPHINE_SOLUTION_10_5, dosage(dose=mg(5), frequency=4, period=1,
                                                period_unit="d")), 20.0),
    calc("oxycodone-5mg-dose-5000-micrograms-is-5mg",
         request(OXYCODONE_CAPS_5, dosage(dose=quantity(5000, "microgram", "ug"), frequency=4,
                                          period=1, period_unit="d")), 30.0),
    # -- VTM-coded morphine: a dose in mg with its route is enough
    calc("morphine-vtm-10mg-every-4-hours-oral",
         request(MORPHINE_VTM, dosage(dose=mg(10), frequency=1, period=4, period_unit="h",
                                      route=ORAL)), 60.0),
    calc("morphine-vtm-10mg-every-4-hours-subcutaneous",
         request(MORPHINE_VTM, dosage(dose=mg(10), frequency=1, period=4, period_unit="h",
                                      route=SUBCUTANEOUS)), 120.0),
    calc("morphine-vtm-30mg-iv-four-times-a-day-dose-syntax",
         request(MORPHINE_VTM, dosage(dose=mg(30), frequency=4, period=1, period_unit="d",
                                      route=INTRAVENOUS)), 240.0),
    # -- combination products: only the opioid counts
    calc("co-codamol-30/500-two-four-times-a-day",
         request(CO_CODAMOL_30_500, text="two four times a day"), 24.0),
    calc("co-codamol-30/500-one-four-times-a-day",
         request(CO_CODAMOL_30_500, text="one four times a day"), 12.0),
    calc("co-dydramol-10/500-two-four-times-a-day",
         request(CO_DYDRAMOL_10_500, text="two four times a day"), 8.0),
    calc("oxycodone-naloxone-10/5-1-twice-a-day",
         request(OXYCODONE_NALOXONE_10_5, text="1 twice a day"), 30.0),
    # -- patches: the rate x 2.4, whatever the change interval
    calc("fentanyl-25-1-patch-every-72-hours-snomed-unit",
         request(FENTANYL_PATCH_25, dosage(dose=patches(1), frequency=1, period=72,
                                           period_unit="h")), 60.0),
    calc("fentanyl-25-1-patch-every-48-hours-same-ome",
         request(FENTANYL_PATCH_25, dosage(dose=patches(1), frequency=1, period=48,
                                           period_unit="h")), 60.0),
    calc("fentanyl-25-2-patches-every-72-hours",
         request(FENTANYL_PATCH_25, dosage(dose=patches(2), frequency=1, period=3,
                                           period_unit="d")), 120.0),
    calc("fentanyl-25-dose-as-rate-25-micrograms-per-hour-every-72-hours",
         request(FENTANYL_PATCH_25, dosage(dose=quantity(25, "microgram/hour", "ug/h"),
                                           frequency=1, period=72, period_unit="h")), 60.0),
    calc("fentanyl-12-patch-is-nominal-12.5",
         request(FENTANYL_PATCH_12, text="apply one patch every 72 hours"), 30.0),
    calc("buprenorphine-10-patch-weekly-text",
         request(BUPRENORPHINE_PATCH_10, text="apply one patch weekly"), 24.0),
    calc("buprenorphine-10-patch-every-1-wk-structured",
         request(BUPRENORPHINE_PATCH_10, dosage(dose=patches(1), frequency=1, period=1,
                                                period_unit="wk")), 24.0),
    # -- injections: parenteral morphine x 2
    calc("morphine-10mg/1ml-ampoules-10mg-every-4-hours-when-required",
         request(MORPHINE_INJECTION_10_1, text="10mg every 4 hours when required"),
         120.0, flags={Flag.AS_NEEDED_MAXIMUM}),
    calc("morphine-10mg/1ml-ampoules-1-ampoule-every-4-hours-prn-structured",
         request(MORPHINE_INJECTION_10_1, dosage(dose=ampoules(1), frequency=1, period=4,
                                                 period_unit="h", as_needed=True)),
         120.0, flags={Flag.AS_NEEDED_MAXIMUM}),
    # -- a spray counted in actuations, strength per dose
    calc("fentanyl-nasal-100-micrograms-1-spray-up-to-4-times-a-day",
         request(FENTANYL_NASAL_100, text="1 spray up to 4 times a day"), 64.0),
    # -- methadone and tramadol: the profile decides
    calc("methadone-5mg-1-twice-a-day-us-flat-4.7",
         request(METHADONE_TABLETS_5, text="1 twice a day"), 47.0, profile=US),
    calc("tramadol-50mg-2-four-times-a-day-uk-0.1",
         request(TRAMADOL_CAPS_50, text="2 four times a day"), 40.0),
    calc("tramadol-50mg-2-four-times-a-day-us-0.2",
         request(TRAMADOL_CAPS_50, text="2 four times a day"), 80.0, profile=US),
    calc("tapentadol-50mg-1-twice-a-day",
         request(TAPENTADOL_50, text="1 twice a day"), 40.0),
    calc("hydromorphone-1.3mg-1-four-times-a-day",
         request(HYDROMORPHONE_CAPS_1_3, text="1 four times a day"), 26.0),
    # -- identification: old and new VMP ids, every dm+d system URI, name only
    calc("morphine-mr-10mg-new-vmp-id", request(MORPHINE_MR_10, text="1 twice a day"), 20.0),
    calc("morphine-mr-10mg-old-vmp-id-322711002",
         request(MORPHINE_MR_10_OLD_ID, text="1 twice a day"), 20.0),
    calc("morphine-mr-10mg-system-dmd-trailing-slash",
         request(MORPHINE_MR_10._replace(system=DMD_SLASH), text="1 twice a day"), 20.0),
    calc("morphine-mr-10mg-system-snomed",
         request(MORPHINE_MR_10._replace(system=SNOMED), text="1 twice a day"), 20.0),
    calc("morphine-mr-10mg-name-only",
         request(MORPHINE_MR_10._replace(code=None), text="1 twice a day"), 20.0),
]
# fmt: on


@pytest.mark.parametrize(("resource", "ome", "profile", "flags"), CALCULATED)
def test_calculated(resource: dict[str, Any], ome: float, profile: str, flags: set[Flag]) -> None:
    result = assess_resource(resource, profile)
    assert result.status is Status.CALCULATED, result.explanation
    assert result.ome_mg_per_day == pytest.approx(ome, abs=0.05), result.explanation
    assert set(result.flags) == flags
    assert result.explanation.endswith("mg OME/day")


def outcome(
    case_id: str,
    resource: dict[str, Any],
    status: Status,
    reason: str,
    flags: set[Flag] | None = None,
    profile: str = UK,
) -> Any:
    """A vignette that must not be counted: ``reason`` is a fragment of the reason given."""
    return pytest.param(resource, status, reason, flags or set(), profile, id=case_id)


UNRESOLVED = Status.UNRESOLVED
EXCLUDED = Status.EXCLUDED
NOT_OPIOID = Status.NOT_OPIOID

# fmt: off
NOT_COUNTED = [
    outcome("morphine-mr-10mg-as-directed", request(MORPHINE_MR_10, text="as directed"),
            UNRESOLVED, "'as directed' gives no dose"),
    outcome("morphine-mr-10mg-no-dosage-no-supply", request(MORPHINE_MR_10),
            UNRESOLVED, "no dosage instruction"),
    outcome("morphine-vtm-10mg-every-4-hours-no-route",
            request(MORPHINE_VTM, dosage(dose=mg(10), frequency=1, period=4, period_unit="h")),
            UNRESOLVED, "names no route"),
    outcome("morphine-vtm-10mg-every-4-hours-epidural-is-not-parenteral",
            request(MORPHINE_VTM, dosage(dose=mg(10), frequency=1, period=4, period_unit="h",
                                         route=EPIDURAL)),
            UNRESOLVED, "names no route"),
    outcome("morphine-vtm-10mg-oral-and-subcutaneous-lines-disagree",
            request(MORPHINE_VTM,
                    dosage(dose=mg(10), frequency=1, period=4, period_unit="h", route=ORAL),
                    dosage(dose=mg(5), frequency=1, period=4, period_unit="h",
                           route=SUBCUTANEOUS)),
            UNRESOLVED, "names no route"),
    outcome("morphine-vtm-applied-topically",
            request(MORPHINE_VTM, dosage(dose=mg(10), frequency=3, period=1, period_unit="d",
                                         route=TOPICAL)),
            EXCLUDED, "topical", {Flag.TOPICAL}),
    outcome("morphine-vtm-1-tablet-every-4-hours",
            request(MORPHINE_VTM, dosage(dose=tablets(1), frequency=1, period=4,
                                         period_unit="h", route=ORAL)),
            UNRESOLVED, "no strength"),
    outcome("morphine-solution-10mg/5ml-1-four-times-a-day-1-what",
            request(MORPHINE_SOLUTION_10_5, text="1 four times a day"),
            UNRESOLVED, "a dose counted in units for a product measured per ml"),
    outcome("co-codamol-30/500-dose-in-mg-is-ambiguous",
            request(CO_CODAMOL_30_500, dosage(dose=mg(60), frequency=4, period=1,
                                              period_unit="d")),
            UNRESOLVED, "ambiguous for a combination product"),
    outcome("oxycodone-5mg-prn-no-frequency-no-max",
            request(OXYCODONE_CAPS_5, dosage(dose=capsules(1), as_needed=True)),
            UNRESOLVED, "no frequency or maximum"),
    outcome("morphine-solution-sequential-lines-in-ml-then-mg",
            request(MORPHINE_SOLUTION_10_5,
                    dosage(dose=ml(10), frequency=4, period=1, period_unit="d", sequence=1),
                    dosage(dose=mg(15), frequency=4, period=1, period_unit="d", sequence=2)),
            UNRESOLVED, "sequential dosage lines use different units"),
    outcome("morphine-mr-30mg-second-line-as-directed",
            request(MORPHINE_MR_30, dosage(dose=tablets(1), when=("MORN",)),
                    dosage("as directed")),
            UNRESOLVED, "dosage line 2: dosage text: 'as directed' gives no dose"),
    outcome("methadone-5mg-uk-no-fixed-ratio",
            request(METHADONE_TABLETS_5, text="1 twice a day"),
            UNRESOLVED, "specialist review", {Flag.SPECIALIST_REVIEW}),
    outcome("methadone-1mg/ml-oral-solution-for-dependence",
            request(METHADONE_SOLUTION_1MG_ML, text="60ml once a day"),
            EXCLUDED, "substance-dependence", {Flag.SUBSTANCE_DEPENDENCE}),
    outcome("methadone-1mg/ml-oral-solution-for-dependence-us",
            request(METHADONE_SOLUTION_1MG_ML, text="60ml once a day"),
            EXCLUDED, "substance-dependence", {Flag.SUBSTANCE_DEPENDENCE}, US),
    outcome("subutex-8mg-sublingual-for-dependence",
            request(SUBUTEX_8, text="1 once a day"),
            EXCLUDED, "substance-dependence", {Flag.SUBSTANCE_DEPENDENCE}),
    outcome("morphine-0.1%-gel-topical", request(MORPHINE_GEL, text="apply three times a day"),
            EXCLUDED, "topical", {Flag.TOPICAL}),
    outcome("gabapentin-6%-gel-topical", request(GABAPENTIN_GEL, text="apply three times a day"),
            EXCLUDED, "topical", {Flag.TOPICAL}),
    outcome("buprenorphine-10-patch-weekly-us-not-counted",
            request(BUPRENORPHINE_PATCH_10, text="apply one patch weekly"),
            EXCLUDED, "not counted under us-cdc-2022", set(), US),
    outcome("oxycodone-misspelt-oxycodon-5mg-capsules",
            request(Med("Oxycodon 5mg capsules"), text="1 four times a day"),
            UNRESOLVED, "looks like a misspelling of oxycodone"),
    outcome("unknown-opioid-10mg-tablets",
            request(Med("Unknown opioid 10mg tablets"), text="1 twice a day"),
            UNRESOLVED, "could not be read"),
    outcome("unknown-dmd-code-with-no-name",
            {"resourceType": "MedicationRequest", "status": "active", "intent": "order",
             "medicationCodeableConcept": {"coding": [{"system": DMD, "code": "999999999"}]},
             "dosageInstruction": [{"text": "1 twice a day"}]},
            UNRESOLVED, "not in the medicines dictionary"),
    outcome("no-medicine-named",
            {"resourceType": "MedicationRequest", "status": "active", "intent": "order",
             "dosageInstruction": [{"text": "1 twice a day"}]},
            UNRESOLVED, "names no medicine"),
    outcome("amoxicillin-500mg-capsules-out-of-scope",
            request(AMOXICILLIN_500, text="1 three times a day"), NOT_OPIOID, ""),
    outcome("pregabalin-300mg-follow-directions-not-an-opioid",
            request(PREGABALIN_CAPS_300, text="Follow directions"), NOT_OPIOID, ""),
]
# fmt: on


@pytest.mark.parametrize(("resource", "status", "reason", "flags", "profile"), NOT_COUNTED)
def test_not_counted_is_never_zero(
    resource: dict[str, Any], status: Status, reason: str, flags: set[Flag], profile: str
) -> None:
    result = assess_resource(resource, profile)
    assert result.status is status, result.explanation
    assert result.ome_mg_per_day is None  # never 0
    assert reason in f"{result.reason} {result.explanation}"
    assert set(result.flags) == flags


# ---------------------------------------------------------------------- explanations


def test_explanation_reads_as_a_clinician_would_write_it() -> None:
    result = assess_resource(request(OXYCODONE_MR_40, text="1 twice a day"))
    assert result.explanation == (
        "Oxycodone 40mg modified-release tablets, 1 tablet twice a day = 80 mg oxycodone/day × 1.5 "
        "= 120 mg OME/day"
    )


def test_explanation_of_a_patch_gives_its_rate() -> None:
    result = assess_resource(request(FENTANYL_PATCH_25, text="apply one patch every 72 hours"))
    assert "25 micrograms/hour × 2.4 = 60 mg OME/day" in result.explanation


def test_explanation_says_when_required_is_counted_at_its_maximum() -> None:
    result = assess_resource(
        request(
            OXYCODONE_CAPS_5, text="one or two every 4-6 hours when required, max 8 in 24 hours"
        )
    )
    assert "(maximum possible)" in result.explanation
    assert "40 mg oxycodone/day × 1.5 = 60 mg OME/day" in result.explanation


def test_explanation_says_where_a_vtm_route_came_from() -> None:
    result = assess_resource(
        request(
            MORPHINE_VTM, dosage(dose=mg(10), frequency=1, period=4, period_unit="h", route=ORAL)
        )
    )
    assert result.explanation.startswith("Morphine (oral route, from the dosage), ")


def test_unresolved_explanation_names_the_medicine_and_the_reason() -> None:
    result = assess_resource(request(MORPHINE_MR_10, text="as directed"))
    assert result.explanation.startswith(
        "Morphine 10mg modified-release tablets: OME not calculated (daily dose unknown: "
    )


# ----------------------------------------------------------------- ingredients and basis


def ingredients(result: MedicationOme) -> dict[str, float]:
    return {i.ingredient: i.ome_mg_per_day for i in result.ingredients}


def test_combination_products_count_only_their_opioid() -> None:
    co_codamol = assess_resource(request(CO_CODAMOL_30_500, text="two four times a day"))
    assert ingredients(co_codamol) == {"codeine": 24.0}
    assert co_codamol.ingredients[0].amount == pytest.approx(240.0)  # mg codeine a day
    targinact = assess_resource(request(OXYCODONE_NALOXONE_10_5, text="1 twice a day"))
    assert ingredients(targinact) == {"oxycodone": 30.0}  # naloxone adds nothing


def test_patch_ingredient_is_its_rate_in_micrograms_per_hour() -> None:
    result = assess_resource(request(FENTANYL_PATCH_12, text="apply one patch every 72 hours"))
    (part,) = result.ingredients
    assert (part.amount, part.amount_unit, part.factor) == (12.5, "microgram/hour", 2.4)


@pytest.mark.parametrize(
    ("resource", "basis"),
    [
        pytest.param(tablets_bd(MORPHINE_MR_30), "structured dosage", id="structured"),
        pytest.param(request(MORPHINE_MR_30, text="1 twice a day"), "dosage text", id="text"),
        pytest.param(
            request(MORPHINE_MR_30, dispense=(tablets(56), 28)),
            "quantity and supply duration",
            id="supply",
        ),
        pytest.param(
            request(MORPHINE_MR_30, dosage(dose=tablets(1), when=("MORN",)), dosage("1 at night")),
            "structured dosage and dosage text",
            id="both",
        ),
    ],
)
def test_the_daily_dose_says_where_it_came_from(resource: dict[str, Any], basis: str) -> None:
    result = assess_resource(resource)
    assert result.ome_mg_per_day == 60.0
    assert result.daily is not None and result.daily.basis == basis


def test_structured_dose_wins_over_the_text_of_the_same_line() -> None:
    line = dosage("1 once a day", dose=tablets(1), frequency=2, period=1, period_unit="d")
    assert assess_resource(request(MORPHINE_MR_30, line)).ome_mg_per_day == 60.0


def test_text_is_read_when_the_structure_cannot_be() -> None:
    line = dosage("1 twice a day", frequency=2, period=1, period_unit="d")  # timing, no dose
    result = assess_resource(request(MORPHINE_MR_30, line))
    assert result.ome_mg_per_day == 60.0
    assert result.daily is not None and result.daily.basis == "dosage text"


def test_pregabalin_and_diazepam_are_identified_by_class() -> None:
    pregabalin = assess_resource(request(PREGABALIN_CAPS_300, text="Follow directions"))
    assert pregabalin.product is not None
    assert pregabalin.product.has_class(IngredientClass.GABAPENTINOID)
    diazepam = assess_resource(request(DIAZEPAM_2, text="1 at night"))
    assert diazepam.product is not None
    assert diazepam.product.has_class(IngredientClass.BENZODIAZEPINE)


def test_same_answer_under_every_coding_of_one_product() -> None:
    codings = [MORPHINE_MR_10, MORPHINE_MR_10_OLD_ID, MORPHINE_MR_10._replace(system=SNOMED)]
    codings.append(MORPHINE_MR_10._replace(system=DMD_SLASH))
    results = [assess_resource(request(m, text="1 twice a day")) for m in codings]
    assert {r.ome_mg_per_day for r in results} == {20.0}
    assert {r.label for r in results} == {MORPHINE_MR_10.name}


# ------------------------------------------------- misspelt names are not out of scope


@pytest.mark.parametrize(
    "name",
    [
        "Oxycodon 5mg capsules",
        "Codiene phosphate 30mg tablets",
        "Diamorfine 10mg injection",
        "Tramadole 50mg capsules",
        "Dihydrocodiene 30mg tablets",
        "Pregabaline 75mg capsules",
        "Diazepan 5mg tablets",
    ],
)
def test_a_misspelt_in_scope_medicine_is_unresolved_not_out_of_scope(name: str) -> None:
    result = assess_resource(request(Med(name), text="1 twice a day"))
    assert result.status is Status.UNRESOLVED
    assert result.ome_mg_per_day is None
    assert "looks like a misspelling of" in (result.reason or "")


@pytest.mark.parametrize(
    "name",
    [
        "Hydrocortisone 1% cream",
        "Domperidone 10mg tablets",
        "Clonidine 25microgram tablets",
        "Cocaine 10% solution",
        "Lansoprazole 30mg capsules",
        "Diltiazem 60mg tablets",
        "Orphenadrine 50mg tablets",
        "Metformin 500mg tablets",
        "Transfer-degraded medication entry",
    ],
)
def test_other_medicines_are_not_taken_for_misspelt_ones(name: str) -> None:
    result = assess_resource(request(Med(name), text="1 twice a day"))
    assert result.status is Status.NOT_OPIOID, result.explanation
