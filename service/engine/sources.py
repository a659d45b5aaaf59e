"""The bibliography and the override reasons now live in ``service.rulefiles``; these names
are kept for the modules that still import them from here (``service.cards.render``)."""

from service.rulefiles.sources import (
    OverrideReasonDef,
    OverrideReasons,
    SourceEntry,
    Sources,
    load_override_reasons,
    load_sources,
)

__all__ = [
    "OverrideReasonDef",
    "OverrideReasons",
    "SourceEntry",
    "Sources",
    "load_override_reasons",
    "load_sources",
]
