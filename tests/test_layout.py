"""The package layout: featx reads as its dataflow, imports run down it only, and never in a cycle.

The layers, bottom first (docs/architecture.md): each package may import only the layers before
it, and modules of its own package. The bottom helpers import nothing of featx (but the package
root's ``__version__`` and ``SEED``).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import featx
from tests.helpers import REPO

PACKAGE = Path(featx.__file__).parent
LAYERS = [
    ("featx", "featx.errors", "featx._faults", "featx._hashing", "featx._text"),
    ("featx.images",),
    ("featx.backbones",),
    ("featx.store",),
    ("featx._dask",),
    ("featx.embedding",),
    ("featx.learn",),
    ("featx.auditing",),
    ("featx.report",),
    ("featx.finetuning",),
    ("featx.extractor", "featx.experiment"),
    ("featx.cli",),
    ("featx.__main__",),
]
BOTTOM = LAYERS[0]


def module_names() -> dict[str, Path]:
    names = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


MODULES = module_names()


def imports(module: str) -> set[str]:
    """The featx modules ``module`` imports anywhere in its code (inside functions too)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([base] if base else [])])
            found |= {f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
                      for a in node.names}
    return {name for name in found if name in MODULES and name != module}


GRAPH = {module: imports(module) for module in MODULES}


def unit(module: str) -> tuple[int, str]:
    """The layer of a module and the package (or top-level module) it belongs to."""
    for rank, layer in enumerate(LAYERS):
        for name in layer:
            if module == name or (name != "featx" and module.startswith(name + ".")):
                return rank, name
    raise AssertionError(f"{module} is in no layer of LAYERS; add it")


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_module_imports_only_down_the_dataflow(module):
    rank, own = unit(module)
    upward = sorted(m for m in GRAPH[module]
                    if unit(m)[1] != own and unit(m)[0] >= rank and m != "featx")
    assert not upward, f"{module} (layer {rank}) imports {upward}, which is not below it"


def test_bottom_helpers_import_nothing_of_featx():
    for module in BOTTOM:
        assert GRAPH[module] == set(), f"{module} imports {GRAPH[module]}"


def test_no_import_cycle():
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in sorted(GRAPH[module]):
            if state.get(target) == "open":
                cycle = path[path.index(target):] + [target]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target, [*path, target])
        state[module] = "done"

    for module in sorted(MODULES):
        if module not in state:
            visit(module, [module])


def test_the_walk_sees_function_level_imports():
    assert "featx.backbones.build" in GRAPH["featx.embedding.run"]


def test_every_public_name_imports():
    for name in featx._EXPORTS:
        assert getattr(featx, name) is not None, name


def test_python_dash_m_featx_runs_the_command_line():
    done = subprocess.run([sys.executable, "-m", "featx", "--version"], cwd=REPO,
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() == f"featx {featx.__version__}"
