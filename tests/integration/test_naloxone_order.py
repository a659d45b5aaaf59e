"""The "order naloxone" suggestion does what it says (issue 17): once the draft it creates is
signed and current, the naloxone prompt is silent — under the UK profile (rule switched on)
and under us-cdc-2022, where its draft carries RxNorm 1725059 from the CDC value set."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.cards.render import FINDINGS_EXTENSION
from service.config import Settings
from service.main import create_app
from tests.scenarios.builder import hook_request

# 120 mg OME/day with the proposal: at or above both profiles' naloxone dose.
VIGNETTE = {
    "name": "man on morphine MR 30mg twice daily prescribed oxycodone MR 20mg twice daily",
    "hook": "order-sign",
    "current": [{"product": "Morphine 30mg modified-release tablets", "sig": "one twice a day"}],
    "proposed": [{"product": "Oxycodone 20mg modified-release tablets", "sig": "one twice a day"}],
}
SETTINGS = {
    "uk (switched on)": Settings(enabled_rules=frozenset({"naloxone"})),
    "us-cdc-2022": Settings(ome_profile="us-cdc-2022"),
}


def _rules(response: Any) -> set[str]:
    assert response.status_code == 200, response.text
    return {f["rule"] for c in response.json()["cards"] for f in c["extension"][FINDINGS_EXTENSION]}


@pytest.mark.parametrize("settings", SETTINGS.values(), ids=SETTINGS.keys())
def test_the_suggested_naloxone_once_current_silences_the_prompt(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        service, body = hook_request(VIGNETTE, client.app.state.pipeline.dictionary)  # type: ignore[attr-defined]
        first = client.post(f"/cds-services/{service}", json=body)
        assert "naloxone" in _rules(first)
        (order,) = [
            a["resource"]
            for c in first.json()["cards"]
            for s in c.get("suggestions", [])
            if s["label"] == "Order naloxone to take home"
            for a in s["actions"]
        ]
        # Signed: an active order (a draft is a proposal until the prescriber signs it).
        signed = copy.deepcopy(order) | {
            "id": "naloxone-supply",
            "status": "active",
            "intent": "order",
        }
        again = copy.deepcopy(body)
        again["prefetch"]["medicationRequests"]["entry"].append({"resource": signed})
        assert "naloxone" not in _rules(client.post(f"/cds-services/{service}", json=again))
