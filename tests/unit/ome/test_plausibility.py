"""Numbers that are not doses (issue 9 item 7) and doNotPerform (item 6), below HTTP: the
reader, the daily amount, one medicine's OME and the regimen."""

from __future__ import annotations

from typing import Any

import pytest

from service.errors import HookRequestError
from service.fhir.medication_record import read_medication_record
from service.fhir.read import opt_nonnegative, opt_num
from service.medicines.identify import identify
from service.ome.calculate import Flag, Plausibility, Status, assess
from service.ome.regimen import DO_NOT_PERFORM, build_regimen
from tests.unit.ome.fhir_builders import (
    MORPHINE_MR_30,
    OXYCODONE_MR_40,
    TODAY,
    UK,
    assess_resource,
    dictionary,
    dosage,
    factors,
    mg,
    regimen,
    request,
)

CEILINGS = Plausibility(max_administrations_per_day=48, max_ome_mg_per_day=10000)


# ----------------------------------------------------------------------------- reader
@pytest.mark.parametrize(
    "value",
    [
        pytest.param(float("nan"), id="nan"),
        pytest.param(float("inf"), id="inf"),
        pytest.param(float("-inf"), id="minus-inf"),
        pytest.param("NaN", id="string-nan"),
        pytest.param("Infinity", id="string-infinity"),
        pytest.param("1e309", id="string-overflow"),
    ],
)
def test_opt_num_refuses_non_finite_numbers_naming_the_field(value: Any) -> None:
    with pytest.raises(HookRequestError) as raised:
        opt_num({"value": value}, "value", "x.doseQuantity")
    assert raised.value.location == "x.doseQuantity.value"
    assert "finite" in raised.value.message


@pytest.mark.parametrize(("value", "expected"), [(2, 2.0), ("2.5", 2.5), (1e308, 1e308), (0, 0.0)])
def test_opt_num_accepts_finite_numbers(value: Any, expected: float) -> None:
    assert opt_num({"value": value}, "value", "x") == expected


def test_opt_nonnegative_refuses_below_zero_and_accepts_zero() -> None:
    with pytest.raises(HookRequestError) as raised:
        opt_nonnegative({"period": -1}, "period", "x.repeat")
    assert raised.value.location == "x.repeat.period"
    assert opt_nonnegative({"period": 0}, "period", "x.repeat") == 0.0


# --------------------------------------------------------------- one medicine's ceiling
def _assess(resource: dict[str, Any], ceilings: Plausibility = CEILINGS) -> Any:
    record = read_medication_record(resource, "medications", {})
    return assess(
        record,
        identify(record.medication, dictionary()),
        factors(),
        factors().profile(UK),
        ceilings,
    )


def _structured(dose_mg: float, frequency: float, period: float, unit: str) -> dict[str, Any]:
    resource = request(MORPHINE_MR_30)
    resource["dosageInstruction"] = [
        dosage(dose=mg(dose_mg), frequency=frequency, period=period, period_unit=unit)
    ]
    return resource


@pytest.mark.parametrize(
    ("resource", "status"),
    [
        pytest.param(_structured(10, 1, 30, "min"), Status.CALCULATED, id="48-a-day-calculated"),
        pytest.param(_structured(10, 49, 1, "d"), Status.UNRESOLVED, id="49-a-day-unresolved"),
        pytest.param(_structured(5000, 2, 1, "d"), Status.CALCULATED, id="10000-calculated"),
        pytest.param(_structured(5000.5, 2, 1, "d"), Status.UNRESOLVED, id="10001-unresolved"),
    ],
)
def test_one_medicine_at_and_above_the_ceilings(resource: dict[str, Any], status: Status) -> None:
    item = _assess(resource)
    assert item.status is status
    assert (Flag.IMPLAUSIBLE in item.flags) is (status is Status.UNRESOLVED)


def test_without_ceilings_only_overflow_is_refused() -> None:
    """``assess`` with no ceilings (a caller that loads no parameters): 1e308 mg twice a day
    still cannot be a number, and does not crash the rounding."""
    item = _assess(_structured(1e308, 2, 1, "d"), Plausibility())
    assert item.status is Status.UNRESOLVED
    assert item.reason is not None and "too large to be a dose" in item.reason
    assert assess_resource(_structured(10, 49, 1, "d")).status is Status.CALCULATED


# ------------------------------------------------------------------ the regimen's ceiling
def test_a_total_above_the_ceiling_unresolves_every_counted_medicine() -> None:
    history = [_assess(_structured(2500, 2, 1, "d"))]
    oxy = request(OXYCODONE_MR_40, status="draft")
    oxy["dosageInstruction"] = [dosage(dose=mg(1667), frequency=2, period=1, period_unit="d")]
    plan = build_regimen([_assess(oxy)], history, TODAY, 10000)
    assert plan.implausible_total == 10001.0
    assert plan.total_with_proposal == 0
    assert all(m.status is Status.UNRESOLVED for m in plan.with_proposal)
    assert len(plan.unresolved) == 2
    below = build_regimen([_assess(oxy)], history, TODAY, 10001)
    assert below.implausible_total is None and below.total_with_proposal == 10001.0


# --------------------------------------------------------------------------- doNotPerform
def test_do_not_perform_in_the_history_is_not_current() -> None:
    plan = regimen([request(MORPHINE_MR_30, text="1 twice a day") | {"doNotPerform": True}])
    assert plan.current == ()
    (item,) = plan.not_current
    assert item.reason == DO_NOT_PERFORM
    assert {Flag.NOT_CURRENT, Flag.DO_NOT_PERFORM} <= item.flags


def test_a_proposed_do_not_perform_is_not_proposed_and_replaces_nothing() -> None:
    current = request(MORPHINE_MR_30, text="1 twice a day", id="mst")
    stop = request(
        MORPHINE_MR_30, text="1 twice a day", status="draft", prior="MedicationRequest/mst"
    )
    plan = regimen([current], [stop | {"doNotPerform": True}])
    assert plan.proposed == () and plan.replaced == ()
    assert plan.total_with_proposal == 60.0
    assert [m.reason for m in plan.not_current] == [DO_NOT_PERFORM]
    assert regimen([current], [stop]).replaced  # without it, the order replaces the current
