"""Validate a draft rule (issue 16 item 4): the checks start-up applies, and which example
hook requests it would fire on.

The checks are the loader's own: the draft is parsed as ``RuleDefinition`` with the running
shared parameters (as ``load_rules`` parses a file) and then given to
``service.engine.loader.check_rule``, so a draft that passes here starts. Every schema error
is listed (pydantic reports them all); the loader's own checks stop at the first, as they do
at start-up. Only the file-name check is left out: a draft has no file yet.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from service.cards.suggestions import SUGGESTION_KINDS
from service.cds_hooks.hook_input import nothing_selected, read_hook_input
from service.cds_hooks.models import HookRequest
from service.cds_hooks.services import SERVICE_FOR_HOOK
from service.engine.definitions import SHARED, RuleDefinition
from service.engine.explain import explain
from service.engine.loader import check_rule
from service.errors import HookRequestError, RequestError, RuleDefinitionError
from service.pipeline import Pipeline
from service.rulefiles import field_path
from service.rulefiles.base import problem
from service.workbench.models import ExampleOutcome, ValidateOut, ValidationIssue
from service.workbench.trace import decisive_out

DRAFT = "draft"
WRAPPER_KEYS = frozenset({"rule", "examples"})


def parse_body(body: bytes, content_type: str) -> tuple[Any, ValidationIssue | None]:
    """The draft as data, or why it cannot be read. Messages give the position, never the
    text: examples beside a rule may hold patient data."""
    kind = content_type.split(";")[0].strip().lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None, ValidationIssue(path="", message="the body is not UTF-8 text")
    if kind.endswith("json"):
        try:
            return json.loads(text), None
        except json.JSONDecodeError as exc:
            return None, ValidationIssue(
                path="",
                message=f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
            )
    if not kind.endswith("yaml"):
        raise HookRequestError(
            "send the draft as Content-Type: application/yaml or application/json",
            "Content-Type",
        )
    try:
        # An alias repeats a node without copying it: refused, so a small body cannot expand
        # into an enormous one when it is validated ("billion laughs").
        if any(isinstance(e, yaml.AliasEvent) for e in yaml.parse(text, Loader=yaml.SafeLoader)):
            return None, ValidationIssue(
                path="", message="YAML anchors and aliases (*) are not accepted"
            )
        return yaml.safe_load(text), None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        what = getattr(exc, "problem", None) or "cannot be parsed"
        return None, ValidationIssue(path="", message=f"not valid YAML: {what}{where}")


def validate_draft(pipeline: Pipeline, data: Any, now: datetime) -> ValidateOut:
    prefix, rule_data, examples = "", data, None
    if isinstance(data, Mapping) and "rule" in data:
        unknown = sorted(set(data) - WRAPPER_KEYS)
        if unknown:
            issues = [ValidationIssue(path=str(k), message="unrecognised field") for k in unknown]
            return ValidateOut(valid=False, errors=issues)
        prefix, rule_data, examples = "rule.", data["rule"], data.get("examples")
    errors, rule = check_draft(pipeline, rule_data, prefix)
    if rule is None:
        return ValidateOut(valid=False, errors=errors)
    outcomes = [_try(pipeline, rule, name, example, now) for name, example in _named(examples)]
    return ValidateOut(valid=True, errors=[], examples=outcomes)


def check_draft(
    pipeline: Pipeline, data: Any, prefix: str = ""
) -> tuple[list[ValidationIssue], RuleDefinition | None]:
    """The draft as a checked rule, or every schema error / the first check that failed."""
    try:
        rule = RuleDefinition.model_validate(data, context={SHARED: pipeline.shared_parameters})
    except ValidationError as exc:
        return [
            ValidationIssue(path=prefix + field_path(e["loc"]), message=problem(e))
            for e in exc.errors()
        ], None
    try:
        check_rule(
            rule,
            Path(DRAFT),
            pipeline.sources,
            pipeline.override_reasons,
            SUGGESTION_KINDS,
            pipeline.facts_catalogue,
        )
    except RuleDefinitionError as exc:
        return [ValidationIssue(path=prefix + exc.field, message=exc.problem)], None
    return [], rule


def _named(examples: Any) -> list[tuple[str, Any]]:
    if examples is None:
        return []
    if isinstance(examples, Mapping):
        return [(str(k), v) for k, v in examples.items()]
    if isinstance(examples, list):
        return [(f"examples[{i}]", v) for i, v in enumerate(examples)]
    return [("examples", examples)]


def _try(
    pipeline: Pipeline, rule: RuleDefinition, name: str, example: Any, now: datetime
) -> ExampleOutcome:
    """Would the draft fire on this hook request? Read as the CDS Service reads it."""
    try:
        request = HookRequest.model_validate(example)
    except ValidationError as exc:
        first = exc.errors()[0]
        # pydantic's message, not ``problem``: it never quotes the input (patient data).
        issue = ValidationIssue(path=field_path(first["loc"]), message=str(first["msg"]))
        return ExampleOutcome(name=name, fired=None, error=issue)
    service_id = SERVICE_FOR_HOOK.get(request.hook)
    try:
        if service_id is None:
            raise HookRequestError("no CDS Service of this service serves that hook", "hook")
        if nothing_selected(service_id, request):
            return ExampleOutcome(name=name, fired=False, outcome="nothing selected")
        record = read_hook_input(service_id, request)
        facts = pipeline.evaluate(record, now, request.hook_instance).facts
    except RequestError as exc:
        issue = ValidationIssue(path=exc.location or "", message=exc.message)
        return ExampleOutcome(name=name, fired=None, error=issue)
    why = explain(rule, facts, record.hook)
    return ExampleOutcome(
        name=name,
        fired=why.fired,
        outcome=why.outcome,
        failed=decisive_out(why.failed),
        exclusion=decisive_out(why.exclusion),
    )
