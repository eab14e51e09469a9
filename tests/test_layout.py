"""The house (STYLE.md "Layout"): the import graph of flowvault/, read from the source with imports inside
functions counted, has no cycle and its arrows run the right way; the top level stays small; the public API
resolves; importing one part does not load the others."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import flowvault

PACKAGE = Path(flowvault.__file__).parent
TOP_LEVEL_ALLOWED = 8  # loose modules beside the packages (__init__ and __main__ not counted)


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _graph() -> dict[str, set[str]]:
    """{module: the flowvault modules it imports anywhere in its source}, TYPE_CHECKING and function bodies included."""
    modules = _modules()

    def known(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join(parent + ([node.module] if node.module else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            for target in targets:
                found = known(target) if target.startswith("flowvault") else None
                if found and found != name:
                    deps.add(found)
        graph[name] = deps
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_import_graph_has_no_cycle():
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_one():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_only_cli_imports_cli_or_the_sandbox():
    # flowvault.__main__ is `python -m flowvault`: the command line's own entry point
    wrong = [(m, d) for m, deps in _graph().items() for d in deps
             if m != "flowvault.__main__" and not _inside(m, "flowvault.cli") and not _inside(m, "flowvault.sandbox")
             and (_inside(d, "flowvault.cli") or _inside(d, "flowvault.sandbox"))]
    assert wrong == []


def test_the_sandbox_imports_nothing_else_of_flowvault():
    wrong = [(m, d) for m, deps in _graph().items() if _inside(m, "flowvault.sandbox") for d in deps
             if not _inside(d, "flowvault.sandbox")]
    assert wrong == []


def test_the_top_level_is_small():
    loose = sorted(p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py"))
    assert len(loose) <= TOP_LEVEL_ALLOWED, loose


def _fresh(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=PACKAGE.parent).stdout.strip()


def test_a_source_does_not_load_the_backup_run():
    assert _fresh("import sys, flowvault.sources.davinci; print('flowvault.backup' in sys.modules)") == "False"


def test_import_flowvault_loads_no_part_until_used():
    code = ("import sys, flowvault; print(sorted(m for m in sys.modules if m.startswith('flowvault.')"
            " and m != 'flowvault.version'))")
    assert _fresh(code) == "[]"


@pytest.mark.parametrize("name", flowvault.__all__)
def test_every_public_name_resolves(name):
    assert getattr(flowvault, name) is not None
    assert name in dir(flowvault)


def test_an_unknown_public_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        flowvault.nope  # noqa: B018


def test_no_public_name_is_shadowed_by_a_subpackage():
    # Importing flowvault.<pkg> sets the attribute <pkg> on the package: a public name equal to a subpackage's would
    # turn into that module once anything imports it.
    subpackages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    assert not (set(flowvault.__all__) & (subpackages | modules))
