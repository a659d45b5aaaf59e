"""The loaders built on service.rulefiles: a bad taper setting, code-set row or support-tier
model stops the service, naming file, field (and row)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from service.config import Settings
from service.errors import ReferenceDataError, RuleDefinitionError
from service.pipeline import Pipeline

RULES = Path(__file__).resolve().parents[3] / "rules"


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(RULES, target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), "utf-8")


@pytest.mark.parametrize(
    ("old", "new", "field", "problem"),
    [
        pytest.param(
            "    value: 14\n    unit: days\n    source: national-review-opioid-interventions",
            "    value: 14\n    unit: days\n    source: a-blog-post",
            "pace.interval_days.source",
            "unknown source 'a-blog-post'",
            id="unknown-source",
        ),
        pytest.param(
            "    value: 14\n",
            "    value: fortnightly\n",
            "pace.interval_days.value",
            "'fortnightly' is not a whole number",
            id="not-a-number",
        ),
        pytest.param(
            "  sequence: [when_required, immediate_release, modified_release, transdermal]",
            "  sequence: [when_required, modified_release, transdermal]",
            "order.sequence",
            "each of",
            id="order-misses-a-kind",
        ),
        pytest.param(
            "  default_enabled: false\n",
            "  default_enabled: false\n  colour: blue\n",
            "slower_near_end.colour",
            "unrecognised field",
            id="unknown-field",
        ),
    ],
)
def test_a_bad_taper_file_names_file_and_field(
    rules_copy: Path, old: str, new: str, field: str, problem: str
) -> None:
    path = rules_copy / "taper.yaml"
    _edit(path, old, new)
    with pytest.raises(ReferenceDataError) as caught:
        Pipeline(Settings(rules_dir=rules_copy))
    error = caught.value
    assert (error.file, error.field) == (str(path), field)
    assert problem in error.problem
    assert f"taper.yaml: field {field!r}: " in str(error)


@pytest.mark.parametrize(
    ("old", "new", "field", "problem"),
    [
        pytest.param(",exact,", ",fuzzy,", "match", "'fuzzy' is not one of", id="bad-match"),
        pytest.param(",snomed-ct-uk,", ",no-such-source,", "source", "no-such-source", id="source"),
    ],
)
def test_a_bad_code_set_row_names_file_row_and_field(
    rules_copy: Path, old: str, new: str, field: str, problem: str
) -> None:
    path = rules_copy / "codesets" / "psychological.csv"
    _edit(path, old, new)
    with pytest.raises(ReferenceDataError) as caught:
        Pipeline(Settings(rules_dir=rules_copy))
    error = caught.value
    assert (error.file, error.row, error.field) == (str(path), 2, field)
    assert problem in error.problem


def test_a_bad_support_tier_model_is_a_rule_definition_error(rules_copy: Path) -> None:
    path = rules_copy / "stratification.yaml"
    _edit(path, "    value: 65\n", "    value: old\n")
    with pytest.raises(RuleDefinitionError) as caught:
        Pipeline(Settings(rules_dir=rules_copy))
    assert caught.value.file == str(path)
    assert caught.value.field == "parameters.older_age_years.value"
