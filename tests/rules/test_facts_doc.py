"""docs/facts.md lists the facts rule files may use; it is generated, and must not drift."""

from __future__ import annotations

from pathlib import Path

from service.__main__ import facts_markdown
from service.config import Settings
from service.pipeline import Pipeline

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "facts.md"


def test_the_committed_list_of_facts_matches_the_code() -> None:
    expected = facts_markdown(Pipeline(Settings()))
    assert COMMITTED.read_text("utf-8") == expected, "run `make facts` and commit docs/facts.md"


def test_every_fact_a_rule_uses_is_listed() -> None:
    text = COMMITTED.read_text("utf-8")
    for rule in Pipeline(Settings()).rules:
        for name in _facts_in(rule.inclusion.model_dump(by_alias=True)):
            assert f"`{name}`" in text, f"{rule.id} uses {name}"


def _facts_in(node: object) -> set[str]:
    if isinstance(node, dict):
        found = {node["fact"]} if isinstance(node.get("fact"), str) else set()
        for value in node.values():
            found |= _facts_in(value)
        return found
    if isinstance(node, list | tuple):
        return set().union(*(_facts_in(v) for v in node)) if node else set()
    return set()
