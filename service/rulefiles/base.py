"""One way to read a file under ``rules/``: a strict pydantic model per YAML file or CSV row.

Every problem is raised as the one :class:`service.errors.ReferenceDataError`, naming the
file, the field (a dotted path such as ``parameters.threshold_mg_per_day.unit``, or a CSV
column) and, for CSV, the row (the line number; the header is line 1). The service then
refuses to start (style guide G5, G9): a bad table must never become a wrong number at request time.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Generic, TypeVar

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, StringConstraints, ValidationError

from service.errors import ReferenceDataError


class StrictModel(BaseModel):
    """The base of every model of a file under ``rules/``: unknown fields are errors (a typo
    must not silently drop a setting) and loaded values cannot change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class CsvRow(StrictModel):
    """The base of a CSV row model. Fields are the columns, in order; cells are stripped."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def blank_to_none(value: object) -> object:
    """For ``BeforeValidator``: an empty CSV cell is None."""
    return None if isinstance(value, str) and not value.strip() else value


def _true_or_false(value: object) -> object:
    # Only the two words the tables use: pydantic's lax bool would also take "yes", "1", "on".
    if isinstance(value, str) and value.strip() not in {"true", "false"}:
        raise ValueError("must be true or false")
    return value


#: Text that must not be empty (after stripping).
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
#: A CSV cell that may be empty (None when it is).
OptionalFloat = Annotated[float | None, BeforeValidator(blank_to_none)]
OptionalInt = Annotated[int | None, BeforeValidator(blank_to_none)]
#: A CSV cell holding exactly ``true`` or ``false``.
CsvBool = Annotated[bool, BeforeValidator(_true_or_false)]

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Row(Generic[M]):
    """One validated CSV row and the line it ends on (the header is line 1)."""

    line: int
    value: M


def read_yaml(
    path: Path,
    model: type[M],
    *,
    error: type[ReferenceDataError] = ReferenceDataError,
    context: Mapping[str, Any] | None = None,
) -> M:
    """The YAML file at ``path`` validated as ``model``.

    ``error``: the subclass to raise (``RuleDefinitionError`` for rule files). ``context``:
    what the model's validators may look up (pydantic validation context), e.g. the shared
    parameters a rule file refers to.
    """
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error(file, "", f"cannot read the file ({exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise error(file, "", f"not valid YAML ({exc})") from None
    return validate(data, model, file, error=error, context=context)


def validate(
    data: object,
    model: type[M],
    file: str,
    *,
    row: int | None = None,
    error: type[ReferenceDataError] = ReferenceDataError,
    context: Mapping[str, Any] | None = None,
) -> M:
    """``data`` validated as ``model``; the first problem raised with its field path."""
    try:
        return model.model_validate(data, context=dict(context) if context else None)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise error(file, field_path(first["loc"]), problem(first), row=row) from None


def read_csv(
    path: Path,
    model: type[M],
    *,
    missing_hint: str = "",
) -> list[Row[M]]:
    """Every row of the CSV file at ``path`` validated as ``model``.

    The header must be exactly the model's fields (by alias), in order. Blank lines are
    skipped. ``missing_hint`` ends the message when the file cannot be read (the command
    that makes it).
    """
    file = str(path)
    columns = tuple(f.alias or name for name, f in model.model_fields.items())
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle, strict=True)
            records = [(reader.line_num, record) for record in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        hint = f"; {missing_hint}" if missing_hint else ""
        raise ReferenceDataError(file, "", f"cannot read the file as CSV ({exc}){hint}") from None
    if not records:
        raise ReferenceDataError(file, "", "the file is empty")
    header_line, header = records[0]
    if tuple(header) != columns:
        raise ReferenceDataError(
            file,
            "header",
            f"the header must be exactly {','.join(columns)} (found {','.join(header)})",
            row=header_line,
        )
    rows: list[Row[M]] = []
    for line, record in records[1:]:
        if not record:
            continue
        if len(record) != len(columns):
            at = columns[min(len(record), len(columns) - 1)]
            raise ReferenceDataError(
                file, at, f"expected {len(columns)} fields, found {len(record)}", row=line
            )
        rows.append(
            Row(line, validate(dict(zip(columns, record, strict=True)), model, file, row=line))
        )
    return rows


def field_path(loc: Sequence[int | str]) -> str:
    """A pydantic error location as a dotted path: ``('tiers', 0, 'when')`` → ``tiers[0].when``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


#: One entry of ``ValidationError.errors()`` (pydantic's ErrorDetails: type, loc, msg, input).
_Error = Mapping[str, Any]

_FIXED_PROBLEMS = {
    "missing": "required field is missing",
    "extra_forbidden": "unrecognised field",
    "string_too_short": "must not be empty",
    "too_short": "must not be empty",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "int_from_float": "must be a whole number",
}
_PROBLEMS: dict[str, Callable[[_Error], str]] = {
    "enum": lambda e: f"{e['input']!r} is not one of: {_expected(e)}",
    "literal_error": lambda e: f"{e['input']!r} is not one of: {_expected(e)}",
    "float_parsing": lambda e: f"{e['input']!r} is not a number",
    "int_parsing": lambda e: f"{e['input']!r} is not a whole number",
    "value_error": lambda e: str(e["msg"]).removeprefix("Value error, "),
}


def _expected(error: _Error) -> str:
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    return str(ctx.get("expected", "")).replace("'", "")


def problem(error: _Error) -> str:
    """What is wrong, in the words the rest of the loaders use."""
    if error["type"] in _FIXED_PROBLEMS:
        return _FIXED_PROBLEMS[error["type"]]
    rewrite = _PROBLEMS.get(error["type"])
    return rewrite(error) if rewrite is not None else str(error["msg"])
