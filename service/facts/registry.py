"""How facts are declared: beside the code that computes them.

A fact is a named, typed value computed from the patient's record; facts are the only
vocabulary rule files may use (style guide G5, G6). Each module that computes facts holds a
:class:`FactSet` and declares every fact on the function that computes it::

    FACTS = FactSet[Situation]("medicines")

    @FACTS.fact("proposed_opioid", "bool", None, "A proposed medicine contains an opioid.")
    def proposed_opioid(s: Situation) -> FactValue: ...

so a fact cannot be registered without being computed. The composition root gathers the
sets into a :class:`FactCatalogue`; the rule loader rejects, at start-up, a rule that names
a fact the catalogue does not hold, or compares a fact in a unit other than its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Generic, Literal, TypeVar

from service.errors import ConfigurationError

FactKind = Literal["bool", "number", "text"]
#: A fact's value; None means unknown (the data to decide it was not available).
FactValue = bool | float | int | str | None

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class FactDefinition:
    name: str
    kind: FactKind
    unit: str | None  # for numbers: "mg OME/day", "%", "days", "count", "years"
    definition: str
    #: For text and number facts: the widest value when shown in a card summary, used to
    #: check at start-up that no summary can exceed 139 characters.
    max_chars: int = 8
    #: For a bool fact: a text fact naming the records that made it true, shown when a card
    #: says why it was shown as information (e.g. which cancer diagnosis).
    evidence: str | None = None
    #: The fact set that computes it ("medicines", "prescribing event", "patient"...).
    fact_set: str = ""


class FactSet(Generic[T]):
    """Facts computed from one kind of input (``T``), each declared on its function."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._facts: dict[str, tuple[FactDefinition, Callable[[T], FactValue]]] = {}

    def fact(
        self,
        name: str,
        kind: FactKind,
        unit: str | None,
        definition: str,
        *,
        max_chars: int = 8,
        evidence: str | None = None,
    ) -> Callable[[Callable[[T], FactValue]], Callable[[T], FactValue]]:
        """Declare the decorated function as the computation of fact ``name``."""

        def register(compute: Callable[[T], FactValue]) -> Callable[[T], FactValue]:
            self.add(FactDefinition(name, kind, unit, definition, max_chars, evidence), compute)
            return compute

        return register

    def add(self, definition: FactDefinition, compute: Callable[[T], FactValue]) -> None:
        if definition.name in self._facts:
            raise ConfigurationError(f"fact {definition.name!r} is declared twice in {self.name}")
        self._facts[definition.name] = (replace(definition, fact_set=self.name), compute)

    @property
    def definitions(self) -> Mapping[str, FactDefinition]:
        return {name: d for name, (d, _) in self._facts.items()}

    def compute(self, inputs: T) -> dict[str, FactValue]:
        return {name: compute(inputs) for name, (_, compute) in self._facts.items()}


class FactCatalogue(Mapping[str, FactDefinition]):
    """Every fact the pipeline computes, from every :class:`FactSet`: the names rule files
    may use. A name declared in two sets stops start-up."""

    def __init__(self, *sets: FactSet[Any]) -> None:
        self._definitions: dict[str, FactDefinition] = {}
        for fact_set in sets:
            for name, definition in fact_set.definitions.items():
                if name in self._definitions:
                    raise ConfigurationError(f"fact {name!r} is declared by two fact sets")
                self._definitions[name] = definition
        for definition in self._definitions.values():
            evidence = definition.evidence
            if evidence is not None and self._definitions.get(evidence, None) is None:
                raise ConfigurationError(
                    f"fact {definition.name!r} names evidence {evidence!r}, which no fact set "
                    "computes"
                )

    def __getitem__(self, name: str) -> FactDefinition:
        return self._definitions[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._definitions)

    def __len__(self) -> int:
        return len(self._definitions)


def check_values(values: Mapping[str, FactValue], catalogue: FactCatalogue) -> None:
    """Start-up self-check: every declared fact was computed, nothing undeclared was, and
    each value is of its declared kind (or None, unknown)."""
    missing = set(catalogue) - set(values)
    extra = set(values) - set(catalogue)
    if missing or extra:
        raise ConfigurationError(
            "facts declared but not computed: "
            + (", ".join(sorted(missing)) or "none")
            + "; computed but not declared: "
            + (", ".join(sorted(extra)) or "none")
        )
    for name, value in values.items():
        kind = catalogue[name].kind
        ok = (
            value is None
            or (kind == "bool" and isinstance(value, bool))
            or (kind == "number" and isinstance(value, int | float) and not isinstance(value, bool))
            or (kind == "text" and isinstance(value, str))
        )
        if not ok:
            raise ConfigurationError(f"fact {name!r} is declared {kind} but computed {value!r}")
