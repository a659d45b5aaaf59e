"""The schema of a rule file (``rules/recommendations/<id>.yaml``), as pydantic models.

See ``rules/README.md`` for the field-by-field description. Criteria are a small tree of
``all`` / ``any`` / ``not`` over named facts, compared only with named parameters: a rule
file holds no bare numbers outside ``parameters``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import cached_property
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from service.hooks import HookName
from service.rulefiles import StrictModel, reflow

Comparison = Literal["at_least", "above", "at_most", "below"]


#: The rule-file models share the base of every file under rules/.
Strict = StrictModel


#: The comparisons that agree with a threshold's comparison: "at or above" and its
#: complement "below", or "above" and its complement "at or below".
CONSISTENT: dict[Comparison, frozenset[Comparison]] = {
    "at_least": frozenset({"at_least", "below"}),
    "below": frozenset({"at_least", "below"}),
    "above": frozenset({"above", "at_most"}),
    "at_most": frozenset({"above", "at_most"}),
}
#: The key of ``model_validate``'s context that holds the shared parameters.
SHARED = "shared_parameters"


class Parameter(Strict):
    """A named, cited clinical number. Units are checked against the facts compared with it.

    A file may write ``{shared: <name>}`` instead, to use a parameter of
    ``rules/parameters.yaml``: the number is then defined once, and ``comparison`` (when the
    shared file sets one) is the only way conditions may compare with it.
    """

    value: float
    unit: str
    source: str
    locator: str
    alternatives: str | None = None
    #: The name in rules/parameters.yaml this parameter stands for, if any.
    shared: str | None = None
    comparison: Comparison | None = None
    #: The value under an OME profile other than the default (``rules/ome/profiles.yaml``),
    #: e.g. the CDC's 50 and 90 MME/day under ``us-cdc-2022`` (issue 17). A deployment's
    #: override still wins.
    profile_values: dict[str, float] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _resolve_shared(cls, data: Any, info: ValidationInfo) -> Any:
        if not (isinstance(data, dict) and "shared" in data):
            return data
        if set(data) != {"shared"}:
            raise ValueError("a shared parameter is written {shared: <name>} and nothing else")
        shared: Mapping[str, Parameter] = (info.context or {}).get(SHARED, {})
        name = data["shared"]
        if name not in shared:
            known = ", ".join(sorted(shared)) or "none"
            raise ValueError(f"unknown shared parameter {name!r} (rules/parameters.yaml: {known})")
        return {**shared[name].model_dump(exclude={"shared"}), "shared": name}


class SharedParameters(Strict):
    """``rules/parameters.yaml``: clinical numbers that more than one file uses."""

    parameters: dict[str, Parameter]


class Condition(Strict):
    """One node of the criteria tree: exactly one of fact / all / any / not."""

    fact: str | None = None
    at_least: str | None = None
    above: str | None = None
    at_most: str | None = None
    below: str | None = None
    all: tuple[Condition, ...] | None = None
    any: tuple[Condition, ...] | None = None
    not_: Condition | None = Field(default=None, alias="not")

    @model_validator(mode="after")
    def _one_kind(self) -> Condition:
        kinds = [
            self.fact is not None,
            self.all is not None,
            self.any is not None,
            self.not_ is not None,
        ]
        if sum(kinds) != 1:
            raise ValueError("a condition has exactly one of: fact, all, any, not")
        if self.fact is None and self.comparisons():
            raise ValueError("comparisons (at_least, above, at_most, below) need a fact")
        if len(self.comparisons()) > 1:
            raise ValueError("a condition compares with at most one parameter")
        return self

    @cached_property
    def comparison(self) -> tuple[Comparison, str] | None:
        """The one comparison, if any: worked out once per loaded condition, not per call
        (issue 14). It depends only on this condition's own fields; a copy made with
        ``model_copy(update=...)`` of those fields would carry the old answer, and none is
        made (the loader copies rules to change parameters, which leaves this unchanged)."""
        pairs = self.comparisons()
        return pairs[0] if pairs else None

    def comparisons(self) -> list[tuple[Comparison, str]]:
        pairs: list[tuple[Comparison, str | None]] = [
            ("at_least", self.at_least),
            ("above", self.above),
            ("at_most", self.at_most),
            ("below", self.below),
        ]
        return [(k, v) for k, v in pairs if v is not None]


class Guideline(Strict):
    source: str
    statement: str


class LinkDef(Strict):
    label: str
    url: str
    #: Show the link only when this ingredient is current or proposed (the pregabalin notice
    #: for pregabalin, the gabapentin notice for gabapentin: each drug named as prescribed).
    ingredient: str | None = None


class CardDef(Strict):
    indicator: Literal["info", "warning", "critical"]
    summary: str
    detail: str
    source: str
    #: The card's source when the patient's regimen holds this ingredient (the first that
    #: does, in file order): each drug's own notice (pregabalin → the pregabalin notice).
    ingredient_sources: dict[str, str] = Field(default_factory=dict)
    links: tuple[LinkDef, ...] = ()
    suggestions: tuple[str, ...] = ()
    override_reasons: tuple[str, ...] = ()
    #: Include the table of each medicine's OME and how it was derived.
    medicines_table: bool = True
    #: Include the patient's support tier and the risk factors behind it.
    show_support_tier: bool = False
    #: Show the card as ``info`` instead when this holds (e.g. cancer or palliative care:
    #: co-prescribing still shows, as information).
    info_when: Condition | None = None
    #: Show the card as ``critical`` when this holds (and ``info_when`` does not): the
    #: combinations a prescriber must not miss (docs/adr/0007-one-prompt.md).
    critical_when: Condition | None = None

    @field_validator("detail")
    @classmethod
    def _one_line_paragraphs(cls, detail: str) -> str:
        return reflow(detail)  # see service/rulefiles/text.py: the sandbox's soft breaks

    #: Other wording when a condition holds (first match wins): e.g. a lower dose tier, or a
    #: new start, which has no dose "before it".
    variants: tuple[CardVariant, ...] = ()


class CardVariant(Strict):
    """Other words for the same card when ``when`` holds: the first variant that holds
    replaces the summary and detail (the CDC's lower dose tier, "consider tapering", below
    the tier that says "taper now"). Either may be left out to keep the card's own."""

    when: Condition
    summary: str | None = None
    detail: str | None = None

    @field_validator("detail")
    @classmethod
    def _one_line_paragraphs(cls, detail: str | None) -> str | None:
        return None if detail is None else reflow(detail)  # service/rulefiles/text.py


class PatientView(Strict):
    """The rule at chart-open (the ``patient-view`` hook, issue 17): the same finding over
    what the patient already takes, worded as a review prompt and always shown as
    information. Never shown for cancer or palliative care (the loader adds that)."""

    inclusion: Condition
    summary: str
    detail: str
    suggestions: tuple[str, ...] = ()

    @field_validator("detail")
    @classmethod
    def _one_line_paragraphs(cls, detail: str) -> str:
        return reflow(detail)  # see service/rulefiles/text.py: the sandbox's soft breaks


class Review(Strict):
    authored_by: str
    reviewed_on: date
    next_review: date


class RuleDefinition(Strict):
    id: str
    version: str
    status: Literal["draft", "active", "retired"]
    title: str
    guideline: Guideline
    hooks: tuple[HookName, ...]
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    inclusion: Condition
    exclusion: Condition | None = None
    #: Shown instead of firing when an exclusion could not be checked (e.g. no conditions).
    card: CardDef
    #: Lower numbers are shown first among cards of the same indicator.
    priority: int = 50
    review: Review
    known_false_positives: tuple[str, ...] = ()
    #: The OME profiles under which the rule runs unless a deployment switches it on
    #: (``OPIOID_CDS_ENABLED_RULES``); absent: every profile. Naloxone (CDC recommendation 8)
    #: runs by default under ``us-cdc-2022`` only.
    profiles: tuple[str, ...] | None = None
    #: The chart-open review prompt for this finding, if it has one.
    patient_view: PatientView | None = None
