"""Reading the files under ``rules/``: one strict pydantic base, one YAML and one CSV reader,
and the bibliography every loader checks its sources against.

Imports nothing of the service but ``service.errors``, so that every package may use it.
"""

from service.rulefiles.base import (
    CsvBool,
    CsvRow,
    OptionalFloat,
    OptionalInt,
    Row,
    StrictModel,
    Text,
    blank_to_none,
    field_path,
    read_csv,
    read_yaml,
    validate,
)
from service.rulefiles.sources import (
    OverrideReasonDef,
    OverrideReasons,
    SourceEntry,
    Sources,
    load_override_reasons,
    load_sources,
)
from service.rulefiles.text import reflow

__all__ = [
    "CsvBool",
    "CsvRow",
    "OptionalFloat",
    "OptionalInt",
    "OverrideReasonDef",
    "OverrideReasons",
    "Row",
    "SourceEntry",
    "Sources",
    "StrictModel",
    "Text",
    "blank_to_none",
    "field_path",
    "load_override_reasons",
    "load_sources",
    "read_csv",
    "read_yaml",
    "reflow",
    "validate",
]
