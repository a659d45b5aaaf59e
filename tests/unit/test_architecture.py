"""The import graph stays layered: no cycle between packages, and nothing imports the HTTP
layer except the app factory (DEVELOPERS.md, Layout)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SERVICE = Path(__file__).resolve().parents[2] / "service"


def _imports() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in SERVICE.rglob("*.py"):
        name = ".".join(path.relative_to(SERVICE.parent).with_suffix("").parts)
        name = name.removesuffix(".__init__")
        found = set()
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("service"):
                found.add(str(node.module))
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.startswith("service")}
        graph[name] = found
    return graph


def _package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_no_cycle_between_packages() -> None:
    edges: dict[str, set[str]] = {}
    for module, targets in _imports().items():
        for target in targets:
            if _package(module) != _package(target):
                edges.setdefault(_package(module), set()).add(_package(target))
    cycles = sorted((a, b) for a, bs in edges.items() for b in bs if a in edges.get(b, set()))
    assert cycles == []


def test_only_the_app_and_the_command_line_import_the_http_layer() -> None:
    importers = {
        module
        for module, targets in _imports().items()
        if any(_package(t) == "service.api" for t in targets) and _package(module) != "service.api"
    }
    assert importers <= {"service.main", "service.__main__"}


DEVELOPERS = SERVICE.parent / "DEVELOPERS.md"
_LAYER_LINE = re.compile(r"^(\d+)\. ((?:`service[\w.]*`(?: \([^)]*\))?(?:, )?)+)$", re.MULTILINE)


def _documented_layers() -> dict[str, int]:
    """``package -> layer number`` from DEVELOPERS.md's numbered list (1 is the top)."""
    layers: dict[str, int] = {}
    for number, names in _LAYER_LINE.findall(DEVELOPERS.read_text("utf-8")):
        for name in re.findall(r"`([^`]+)`", names):
            layers[name] = int(number)
    return layers


def test_every_package_has_a_documented_layer() -> None:
    layers = _documented_layers()
    assert len(layers) > 10, "the layer list in DEVELOPERS.md was not found"
    assert {_package(m) for m in _imports()} - {"service"} <= set(layers)


def test_every_import_points_down_the_documented_layers() -> None:
    """An import from a lower-numbered (higher) layer, or across packages of the same
    layer, breaks the documented direction."""
    layers = _documented_layers()
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in _imports().items()
        for target in targets
        if _package(module) != _package(target)
        and _package(module) in layers
        and layers[_package(target)] <= layers[_package(module)]
    )
    assert wrong == []
