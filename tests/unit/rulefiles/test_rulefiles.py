"""service.rulefiles: every problem in a file under rules/ is one ReferenceDataError that
names the file and the field (and, for CSV, the row)."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest
from pydantic import Field

from service.errors import ConfigurationError, ReferenceDataError, RuleDefinitionError, ServiceError
from service.rulefiles import (
    CsvBool,
    CsvRow,
    OptionalFloat,
    OverrideReasons,
    Sources,
    StrictModel,
    Text,
    field_path,
    read_csv,
    read_yaml,
)

SOURCES = textwrap.dedent(
    """\
    src-a:
      title: A
      url: https://example.org/a
      verified: primary
      label: Source A
    src-b:
      title: B
      url: https://example.org/b
      verified: secondary
    """
)


class Unit(StrictModel):
    value: float = Field(gt=0)
    unit: Text
    source: str


class Settings(StrictModel):
    name: Text
    parameters: dict[str, Unit]
    steps: tuple[Unit, ...] = ()


class Factor(CsvRow):
    ingredient: Text
    factor: OptionalFloat
    patch: CsvBool
    source: str


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


def _sources(tmp_path: Path) -> Sources:
    _write(tmp_path, "sources.yaml", SOURCES)
    return Sources.load(tmp_path)


# ------------------------------------------------------------------------------ errors


def test_rulefiles_imports_nothing_of_the_service_but_its_errors() -> None:
    """So that every package may read its files with it (DEVELOPERS.md, import graph)."""
    package = Path(__file__).resolve().parents[3] / "service" / "rulefiles"
    imported = set()
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("service"):
                imported.add(str(node.module))
    own = {f"service.rulefiles.{p.stem}" for p in package.glob("*.py")}
    assert imported - own == {"service.errors"}


def test_one_error_type_under_the_service_tree() -> None:
    assert issubclass(ReferenceDataError, ConfigurationError)
    assert issubclass(ReferenceDataError, ServiceError)
    assert issubclass(RuleDefinitionError, ReferenceDataError)


def test_the_message_names_file_row_and_field() -> None:
    error = ReferenceDataError("rules/ome/factors.csv", "factor", "must be positive", row=7)
    assert str(error) == "rules/ome/factors.csv: row 7, field 'factor': must be positive"
    assert (error.file, error.field, error.problem, error.row) == (
        "rules/ome/factors.csv",
        "factor",
        "must be positive",
        7,
    )


def test_field_paths_are_dotted_with_list_indexes() -> None:
    assert field_path(("parameters", "high_dose", "unit")) == "parameters.high_dose.unit"
    assert field_path(("tiers", 0, "when", "all", 2, "fact")) == "tiers[0].when.all[2].fact"
    assert field_path(()) == ""


# -------------------------------------------------------------------------------- YAML


def test_a_good_yaml_file_loads(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "s.yaml",
        "name: x\nparameters:\n  high_dose: {value: 120, unit: mg OME/day, source: src-a}\n",
    )
    loaded = read_yaml(path, Settings)
    assert loaded.parameters["high_dose"].value == 120


@pytest.mark.parametrize(
    ("text", "field", "problem"),
    [
        pytest.param(
            "name: x\nparameters:\n  high_dose: {value: 120, source: src-a}\n",
            "parameters.high_dose.unit",
            "required field is missing",
            id="missing-field",
        ),
        pytest.param(
            "name: x\nparameters:\n  high_dose: {value: 0, unit: mg, source: src-a}\n",
            "parameters.high_dose.value",
            "greater than 0",
            id="bad-value",
        ),
        pytest.param(
            "name: x\nparameters: {}\nsteps:\n  - {value: 1, unit: mg, source: a, colour: red}\n",
            "steps[0].colour",
            "unrecognised field",
            id="unknown-field",
        ),
        pytest.param(
            "name: ''\nparameters: {}\n",
            "name",
            "must not be empty",
            id="empty-text",
        ),
    ],
)
def test_a_bad_yaml_file_names_file_and_field(
    tmp_path: Path, text: str, field: str, problem: str
) -> None:
    path = _write(tmp_path, "s.yaml", text)
    with pytest.raises(ReferenceDataError) as caught:
        read_yaml(path, Settings)
    error = caught.value
    assert error.file == str(path)
    assert error.field == field
    assert error.row is None
    assert problem in error.problem
    assert str(error).startswith(f"{path}: field {field!r}: ")


def test_yaml_that_does_not_parse_names_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "s.yaml", "name: [unclosed\n")
    with pytest.raises(ReferenceDataError, match=r"s\.yaml: the whole file: not valid YAML"):
        read_yaml(path, Settings)


def test_a_rule_file_raises_the_rule_subclass(tmp_path: Path) -> None:
    path = _write(tmp_path, "s.yaml", "name: x\n")
    with pytest.raises(RuleDefinitionError) as caught:
        read_yaml(path, Settings, error=RuleDefinitionError)
    assert caught.value.field == "parameters"


# --------------------------------------------------------------------------------- CSV

HEADER = "ingredient,factor,patch,source\n"


def test_a_good_csv_file_loads_with_line_numbers(tmp_path: Path) -> None:
    path = _write(tmp_path, "f.csv", HEADER + "morphine,1,false,src-a\n\nfentanyl,2.4,true,src-b\n")
    rows = read_csv(path, Factor)
    assert [(r.line, r.value.ingredient, r.value.patch) for r in rows] == [
        (2, "morphine", False),
        (4, "fentanyl", True),
    ]


@pytest.mark.parametrize(
    ("row", "field", "problem"),
    [
        pytest.param("morphine,ten,false,src-a", "factor", "'ten' is not a number", id="number"),
        pytest.param("morphine,1,yes,src-a", "patch", "true or false", id="bool"),
        pytest.param(",1,false,src-a", "ingredient", "must not be empty", id="empty"),
        pytest.param("morphine,1", "patch", "expected 4 fields, found 2", id="short"),
    ],
)
def test_a_bad_csv_row_names_file_row_and_field(
    tmp_path: Path, row: str, field: str, problem: str
) -> None:
    path = _write(tmp_path, "f.csv", HEADER + "codeine,0.1,false,src-a\n" + row + "\n")
    with pytest.raises(ReferenceDataError) as caught:
        read_csv(path, Factor)
    error = caught.value
    assert (error.file, error.row, error.field) == (str(path), 3, field)
    assert problem in error.problem
    assert str(error).startswith(f"{path}: row 3, field {field!r}: ")


def test_a_wrong_csv_header_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "f.csv", "ingredient,factor,source\nmorphine,1,src-a\n")
    with pytest.raises(ReferenceDataError) as caught:
        read_csv(path, Factor)
    assert (caught.value.row, caught.value.field) == (1, "header")


def test_a_missing_csv_file_says_how_to_make_it(tmp_path: Path) -> None:
    with pytest.raises(ReferenceDataError, match="run `make medicines`"):
        read_csv(tmp_path / "none.csv", Factor, missing_hint="run `make medicines`")


# ----------------------------------------------------------------------------- sources


def test_sources_check_returns_the_ids(tmp_path: Path) -> None:
    sources = _sources(tmp_path)
    assert sources.check("src-a; src-b", "f.csv", "source", row=2) == ("src-a", "src-b")
    assert sources.check(["src-b"], "p.yaml", "prn.source") == ("src-b",)
    assert sources["src-a"].id == "src-a"
    assert set(sources) == {"src-a", "src-b"}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param("src-a;src-x", "unknown source 'src-x'", id="unknown"),
        pytest.param("", "empty source id", id="empty"),
        pytest.param("src-a;;src-b", "empty source id", id="empty-part"),
        pytest.param("src-a;src-a", "repeated", id="repeated"),
    ],
)
def test_a_bad_source_id_names_file_row_and_field(tmp_path: Path, text: str, problem: str) -> None:
    sources = _sources(tmp_path)
    with pytest.raises(ReferenceDataError) as caught:
        sources.check(text, "rules/ome/factors.csv", "source", row=5)
    error = caught.value
    assert (error.file, error.row, error.field) == ("rules/ome/factors.csv", 5, "source")
    assert problem in error.problem
    assert str(error).startswith("rules/ome/factors.csv: row 5, field 'source': ")


def test_a_card_source_needs_a_label(tmp_path: Path) -> None:
    sources = _sources(tmp_path)
    sources.check("src-a", "r.yaml", "card.source", needs_label=True)
    with pytest.raises(RuleDefinitionError, match="needs a label"):
        sources.check("src-b", "r.yaml", "card.source", needs_label=True, error=RuleDefinitionError)


def test_a_source_without_a_url_names_its_id(tmp_path: Path) -> None:
    _write(tmp_path, "sources.yaml", "src-a:\n  title: A\n  verified: primary\n")
    with pytest.raises(ReferenceDataError) as caught:
        Sources.load(tmp_path)
    assert caught.value.field == "src-a.url"
    assert caught.value.file == str(tmp_path / "sources.yaml")


def test_override_reasons_load_with_the_same_base(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "override_reasons.yaml",
        "system: https://example.org/cs\nreasons:\n  - {code: a, display: A}\n  - {code: b}\n",
    )
    with pytest.raises(ReferenceDataError) as caught:
        OverrideReasons.load(tmp_path)
    assert caught.value.field == "reasons[1].display"
    assert "required field is missing" in caught.value.problem


def test_the_real_bibliography_and_override_reasons_load() -> None:
    rules = Path(__file__).resolve().parents[3] / "rules"
    assert "project-decision" in Sources.load(rules)
    assert "palliative-care" in OverrideReasons.load(rules).reasons
