"""History semantics: what is current, what is one medicine recorded twice, and what a
proposed order replaces (service.ome.regimen; real-world-data.md §2)."""

from __future__ import annotations

from typing import Any

import pytest

from service.ome.calculate import Flag, Status
from tests.unit.ome.fhir_builders import (
    MORPHINE_MR_10,
    MORPHINE_MR_30,
    MORPHINE_MR_60,
    MORPHINE_SOLUTION_10_5,
    OXYCODONE_MR_40,
    TODAY,
    Med,
    dosage,
    regimen,
    request,
    statement,
    tablets,
)

MST_30_BD = "1 twice a day"  # morphine MR 30 mg twice a day = 60 mg OME/day


def current_total(*history: dict[str, Any]) -> float:
    return regimen(history).current_total


# ------------------------------------------------------------------------ what is current


@pytest.mark.parametrize("status", ["active", "intended", "unknown", None])
def test_current_statuses_count(status: str | None) -> None:
    plan = regimen([request(MORPHINE_MR_30, text=MST_30_BD, status=status)])
    assert plan.current_total == 60.0
    assert plan.not_current == ()


@pytest.mark.parametrize(
    "status",
    ["stopped", "completed", "entered-in-error", "on-hold", "cancelled", "draft", "not-taken"],
)
def test_stopped_statuses_do_not_count_and_say_why(status: str) -> None:
    plan = regimen([request(MORPHINE_MR_30, text=MST_30_BD, status=status)])
    assert plan.current_total == 0.0
    (item,) = plan.not_current
    assert Flag.NOT_CURRENT in item.flags
    assert item.reason == f"status {status}"
    assert item.ome_mg_per_day == 60.0  # still calculated, for the report; not in the total


def test_status_is_read_case_insensitively() -> None:
    assert current_total(request(MORPHINE_MR_30, text=MST_30_BD, status="STOPPED")) == 0.0


def test_a_stopped_order_beside_an_active_one() -> None:
    assert (
        current_total(
            request(MORPHINE_MR_30, text=MST_30_BD, status="stopped", id="old"),
            request(OXYCODONE_MR_40, text="1 twice a day", status="active", id="new"),
        )
        == 120.0
    )


def test_a_proposal_in_the_history_is_not_an_order() -> None:
    plan = regimen([request(MORPHINE_MR_30, text=MST_30_BD, intent="proposal")])
    assert plan.current_total == 0.0
    assert plan.not_current[0].reason == "intent proposal"


@pytest.mark.parametrize(
    ("end", "counted"),
    [
        pytest.param("2026-11-21", False, id="ended-yesterday"),
        pytest.param("2026-11-22", True, id="ends-today"),
        pytest.param("2026-12-31", True, id="ends-next-month"),
        pytest.param(None, True, id="open-ended"),
    ],
)
def test_a_statement_whose_period_has_ended_is_not_current(end: str | None, counted: bool) -> None:
    plan = regimen([statement(MORPHINE_MR_30, text=MST_30_BD, start="2026-01-01", end=end)])
    assert plan.current_total == (60.0 if counted else 0.0)
    if not counted:
        assert plan.not_current[0].reason == f"ended {end}"


def test_an_ended_statement_with_a_stopped_status_reports_the_status() -> None:
    plan = regimen(
        [statement(MORPHINE_MR_30, text=MST_30_BD, status="completed", end="2026-01-01")]
    )
    assert plan.not_current[0].reason == "status completed"


# ------------------------------------------------------------- one medicine, recorded twice

PLAN = "MedicationRequest/authorisation-1"


def gp_connect_repeat(med: Med = MORPHINE_MR_30, text: str = MST_30_BD) -> list[dict[str, Any]]:
    """GP Connect: a MedicationStatement, its authorisation (MedicationRequest intent=plan)
    and one MedicationRequest intent=order per issue, all basedOn the plan."""
    return [
        statement(med, text=text, id="statement-1", based_on=[PLAN]),
        request(med, text=text, id="authorisation-1", intent="plan"),
        request(med, text=text, id="issue-1", based_on=[PLAN], status="completed"),
        request(med, text=text, id="issue-2", based_on=[PLAN]),
        request(med, text=text, id="issue-3", based_on=[PLAN]),
    ]


def test_gp_connect_statement_authorisation_and_issues_count_once() -> None:
    plan = regimen(gp_connect_repeat())
    assert plan.current_total == 60.0
    assert [m.record.id for m in plan.current] == ["authorisation-1"]
    assert sorted(m.record.id or "" for m in plan.duplicates) == [
        "issue-2",
        "issue-3",
        "statement-1",
    ]
    assert [m.record.id for m in plan.not_current] == ["issue-1"]


def test_issues_basedon_a_full_url_count_once() -> None:
    url = "https://gp.example.nhs.uk/fhir/MedicationRequest/authorisation-1"
    resources = [
        request(MORPHINE_MR_30, text=MST_30_BD, id="authorisation-1", intent="plan"),
        request(MORPHINE_MR_30, text=MST_30_BD, id="issue-1", based_on=[url]),
    ]
    assert current_total(*resources) == 60.0


def test_a_statement_and_an_order_of_the_same_dose_count_once_without_links() -> None:
    plan = regimen(
        [
            statement(MORPHINE_MR_30, text=MST_30_BD, id="s"),
            request(MORPHINE_MR_30, text="1 tablet twice a day", id="r"),
        ]
    )
    assert plan.current_total == 60.0
    assert len(plan.current) == 1
    assert len(plan.duplicates) == 1


def test_the_same_medicine_at_different_doses_counts_twice() -> None:
    plan = regimen(
        [
            request(MORPHINE_MR_10, text="1 twice a day", id="a"),  # 20
            request(MORPHINE_MR_10, text="2 twice a day", id="b"),  # 40
        ]
    )
    assert plan.current_total == 60.0
    assert plan.duplicates == ()


def test_an_issue_of_a_stopped_authorisation_still_counts() -> None:
    resources = [
        request(
            MORPHINE_MR_30, text=MST_30_BD, id="authorisation-1", intent="plan", status="stopped"
        ),
        request(MORPHINE_MR_30, text=MST_30_BD, id="issue-1", based_on=[PLAN]),
    ]
    assert current_total(*resources) == 60.0


def test_two_different_opioids_add_up() -> None:
    assert (
        current_total(*gp_connect_repeat(), request(OXYCODONE_MR_40, text="1 twice a day")) == 180.0
    )


# --------------------------------------------------------------------- the proposal


def with_proposal(history: list[dict[str, Any]], proposal: dict[str, Any]) -> tuple[float, float]:
    plan = regimen(history, [proposal])
    return plan.current_total, plan.total_with_proposal


def test_a_new_opioid_adds_to_the_current_total() -> None:
    current = [request(MORPHINE_MR_30, text=MST_30_BD, id="current")]
    proposal = request(OXYCODONE_MR_40, text="1 twice a day", id="new")
    assert with_proposal(current, proposal) == (60.0, 180.0)


def test_priorprescription_replaces_the_current_item() -> None:
    current = [request(MORPHINE_MR_30, text=MST_30_BD, id="current")]
    proposal = request(OXYCODONE_MR_40, text="1 twice a day", prior="MedicationRequest/current")
    assert with_proposal(current, proposal) == (60.0, 120.0)


def test_basedon_replaces_the_current_item() -> None:
    current = [request(MORPHINE_MR_30, text=MST_30_BD, id="plan-1", intent="plan")]
    proposal = request(OXYCODONE_MR_40, text="1 twice a day", based_on=["MedicationRequest/plan-1"])
    assert with_proposal(current, proposal) == (60.0, 120.0)


def test_the_same_resource_re_signed_replaces_itself() -> None:
    current = [request(MORPHINE_MR_30, text=MST_30_BD, id="rx-1")]
    proposal = request(MORPHINE_MR_30, text="2 twice a day", id="rx-1")
    plan = regimen(current, [proposal])
    assert [m.record.id for m in plan.replaced] == ["rx-1"]
    assert (plan.current_total, plan.total_with_proposal) == (60.0, 120.0)


def test_morphine_mr_30_to_60_with_prior_prescription_replaces() -> None:
    current = [request(MORPHINE_MR_30, text=MST_30_BD, id="mst-30")]
    proposal = request(
        MORPHINE_MR_60, text="1 twice a day", id="mst-60", prior="MedicationRequest/mst-30"
    )
    plan = regimen(current, [proposal])
    assert [m.record.id for m in plan.replaced] == ["mst-30"]
    assert plan.continuing == ()
    assert (plan.current_total, plan.total_with_proposal) == (60.0, 120.0)


def test_the_same_product_re_issued_at_a_new_dose_replaces() -> None:
    current = [request(MORPHINE_MR_30, text=MST_30_BD, id="mst-30-bd")]
    proposal = request(MORPHINE_MR_30, text="2 twice a day", id="mst-30-2-bd")
    plan = regimen(current, [proposal])
    assert [m.record.id for m in plan.replaced] == ["mst-30-bd"]
    assert (plan.current_total, plan.total_with_proposal) == (60.0, 120.0)


def test_morphine_mr_30_to_60_with_no_link_is_a_change_of_the_same_medicine() -> None:
    current = [request(MORPHINE_MR_30, text=MST_30_BD, id="mst-30")]
    proposal = request(MORPHINE_MR_60, text="1 twice a day", id="mst-60")
    plan = regimen(current, [proposal])
    assert [m.record.id for m in plan.replaced] == ["mst-30"]
    assert (plan.current_total, plan.total_with_proposal) == (60.0, 120.0)
    # inferred, not stated: recorded so that the card can say what was assumed
    assert [(p.record.id, c.record.id) for p, c in plan.inferred] == [("mst-60", "mst-30")]


def test_a_stated_replacement_is_not_an_inference() -> None:
    current = [request(MORPHINE_MR_30, text=MST_30_BD, id="mst-30")]
    proposal = request(MORPHINE_MR_60, text="1 twice a day", prior="MedicationRequest/mst-30")
    assert regimen(current, [proposal]).inferred == ()


def test_a_proposal_that_names_another_item_replaces_only_that() -> None:
    current = [
        request(MORPHINE_MR_30, text=MST_30_BD, id="mst-a"),
        request(MORPHINE_MR_10, text="1 twice a day", id="mst-b"),
    ]
    proposal = request(MORPHINE_MR_60, text="1 twice a day", prior="MedicationRequest/mst-a")
    plan = regimen(current, [proposal])
    assert [m.record.id for m in plan.replaced] == ["mst-a"]
    assert (plan.current_total, plan.total_with_proposal) == (80.0, 140.0)


def test_morphine_mr_and_morphine_oral_solution_are_two_medicines() -> None:
    current = [request(MORPHINE_MR_30, text=MST_30_BD, id="mst")]
    proposal = request(MORPHINE_SOLUTION_10_5, text="10ml four times a day", id="oramorph")
    plan = regimen(current, [proposal])
    assert plan.replaced == ()
    assert (plan.current_total, plan.total_with_proposal) == (60.0, 140.0)


def test_the_proposal_replaces_a_gp_connect_repeat_once() -> None:
    proposal = request(MORPHINE_MR_30, text="2 twice a day", id="new")
    assert with_proposal(gp_connect_repeat(), proposal) == (60.0, 120.0)


def test_an_unidentified_proposal_replaces_only_what_it_references() -> None:
    current = [request(MORPHINE_MR_30, text=MST_30_BD, id="mst")]
    unknown = request(Med("Unknown opioid 10mg tablets"), text="1 twice a day", id="x")
    plan = regimen(current, [unknown])
    assert plan.replaced == ()
    assert plan.total_with_proposal == 60.0  # the unknown is not counted as 0 ...
    assert [m.status for m in plan.unresolved] == [Status.UNRESOLVED]  # ... but reported


def test_unresolved_current_items_make_the_regimen_incomplete() -> None:
    plan = regimen(
        [
            request(MORPHINE_MR_30, text=MST_30_BD, id="mst"),
            request(MORPHINE_MR_10, text="as directed", id="unknown-dose"),
        ]
    )
    assert plan.current_total == 60.0
    assert [m.record.id for m in plan.unresolved] == ["unknown-dose"]


def test_today_decides_what_has_ended() -> None:
    item = statement(MORPHINE_MR_30, text=MST_30_BD, start="2026-01-01", end="2026-06-30")
    assert regimen([item], today=TODAY.replace(month=6, day=30)).current_total == 60.0
    assert regimen([item], today=TODAY).current_total == 0.0


def test_structured_and_text_orders_of_the_same_dose_are_one_medicine() -> None:
    line = dosage(dose=tablets(1), frequency=2, period=1, period_unit="d")
    structured = request(MORPHINE_MR_30, line, id="a")
    text = request(MORPHINE_MR_30, text=MST_30_BD, id="b")
    assert current_total(structured, text) == 60.0
