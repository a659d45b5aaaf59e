"""rules/snooze.yaml is checked at start-up: known rules, reasons the rule's card offers,
a positive period and a known source (issue 13 item 4)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from service.config import Settings
from service.errors import RuleDefinitionError
from service.pipeline import Pipeline
from tests.conftest import REPO_ROOT

GOOD = """snoozes:
  - rule: high-dose-risk-assessment
    reasons: [{reason}]
    period_days: {days}
    source: {source}
    locator: a test
"""


def _rules(tmp_path: Path, **values: object) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(REPO_ROOT / "rules", rules)
    fields = {"reason": "risk-assessment-done", "days": 30, "source": "cqf-opioid-cds", **values}
    (rules / "snooze.yaml").write_text(GOOD.format(**fields), "utf-8")
    return rules


def test_the_shipped_file_loads_with_a_source_for_every_period() -> None:
    policy = Pipeline(Settings()).snooze_policy
    assert policy["high-dose-risk-assessment"]["risk-assessment-done"] > 0


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"reason": "co-prescribing-reviewed"}, "not an override reason the card"),
        ({"days": 0}, "greater than 0"),
        ({"source": "no-such-source"}, "no-such-source"),
    ],
)
def test_a_bad_snooze_entry_stops_start_up(
    tmp_path: Path, values: dict[str, object], message: str
) -> None:
    with pytest.raises(RuleDefinitionError, match=message):
        Pipeline(Settings(rules_dir=_rules(tmp_path, **values)))
