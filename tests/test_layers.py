"""The package's imports run one way: a module imports only from its own layer or the layers below it, and no
two modules import each other, directly or round a circle (README: Architecture).

Walks every import in the source, those inside functions included, so a late import cannot hide an upward one.
"""
from __future__ import annotations

import ast
from pathlib import Path

import auditor

PACKAGE = Path(auditor.__file__).parent

# Bottom to top. A module belongs to the first layer whose prefix it starts with.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundation", ("auditor.errors", "auditor.yamlfile", "auditor.textsafety", "auditor.environments",
                    "auditor.aws", "auditor.config", "auditor")),
    ("services", ("auditor.services",)),
    ("rules", ("auditor.rules",)),
    ("engine", ("auditor.engine",)),
    ("sources", ("auditor.live", "auditor.iac")),
    ("history", ("auditor.history",)),
    ("reporting", ("auditor.reporting",)),
    ("runs", ("auditor.runs",)),
    ("fleet", ("auditor.fleet",)),
    ("server", ("auditor.server",)),
    ("entry", ("auditor.cli", "auditor.__main__", "auditor.demo")),
]
# Side by side in one layer, but neither may import the other: live and IaC both produce resources for the engine.
APART = [("auditor.live", "auditor.iac")]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int:
    best = None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > best[1]:
                    best = (index, len(prefix))
    assert best is not None, module
    return best[0]


def imports_of(path: Path, module: str, known: set[str]) -> set[str]:
    out: set[str] = set()
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        out.update(n for n in names if n in known and n != module)
    return out


def graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    known = set(paths)
    return {m: imports_of(p, m, known) for m, p in paths.items()}


def test_no_import_runs_up_a_layer():
    upward = [f"{m} ({LAYERS[layer_of(m)][0]}) imports {d} ({LAYERS[layer_of(d)][0]})"
              for m, deps in graph().items() for d in sorted(deps)
              if layer_of(d) > layer_of(m) and d != "auditor"]
    assert upward == []


def test_live_and_iac_stay_apart():
    crossing = [f"{m} imports {d}" for m, deps in graph().items() for d in deps for a, b in APART
                if (m.startswith(a) and d.startswith(b)) or (m.startswith(b) and d.startswith(a))]
    assert crossing == []


def test_no_circle():
    edges = graph()
    state: dict[str, int] = {}
    circles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in sorted(edges[node]):
            if dep in ("auditor",) or dep.endswith("__init__"):
                continue
            if state.get(dep) == 1:
                circles.append(stack[stack.index(dep):] + [dep] if dep in stack else [node, dep])
            elif dep not in state:
                visit(dep, stack + [dep])
        state[node] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert circles == []


def test_the_layer_test_sees_an_upward_import(tmp_path):
    """The walk itself: a late import inside a function is found (the kind that hid the gate/scan circle)."""
    source = tmp_path / "probe.py"
    source.write_text("def f():\n    from auditor.runs.scan import run_scan\n")
    assert imports_of(source, "auditor.services.probe", {"auditor.runs.scan"}) == {"auditor.runs.scan"}
