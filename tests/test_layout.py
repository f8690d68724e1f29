"""The layout's promises, checked: small modules and functions, and a cold start that loads only
what indexing needs (docs/design.md §11)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import pytest

from tests.helpers import ROOT

MAX_SHARED_MODULE_LINES = 350
MAX_SIMULATOR_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60
# What importing `function_app` (the host's indexing) must not load: each loads on the first
# call of a function that needs it.
HEAVY_MODULES = (
    "pydantic",
    "azure.identity",
    "azure.data.tables",
    "requests",
    "shared.wiring",
    "opentelemetry",
    "azure.monitor",
)


def _modules(folder: str) -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for p in (ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("module", _modules("shared"))
def test_shared_modules_are_small(module):
    lines = len((ROOT / module).read_text().splitlines())
    assert lines <= MAX_SHARED_MODULE_LINES, f"{module} has {lines} lines"


@pytest.mark.parametrize("module", _modules("local/simulator"))
def test_simulator_modules_are_small(module):
    lines = len((ROOT / module).read_text().splitlines())
    assert lines <= MAX_SIMULATOR_MODULE_LINES, f"{module} has {lines} lines"


@pytest.mark.parametrize("module", [*_modules("shared"), "function_app.py"])
def test_app_functions_are_short(module):
    tree = ast.parse((ROOT / module).read_text())
    long = {
        node.name: node.end_lineno - node.lineno + 1
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    }
    assert long == {}, f"{module}: functions over {MAX_FUNCTION_LINES} lines: {long}"


def test_indexing_the_app_loads_no_heavy_dependency():
    probe = (
        "import json, sys; import function_app; "
        f"print(json.dumps([m for m in {list(HEAVY_MODULES)!r} if m in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout) == []
