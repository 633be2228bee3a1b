"""The package's import structure: no cycles between modules, no reaching into another package's private modules.

Walks the source with `ast` (nothing is imported). An edge `a -> b` is a
module-level `import b` / `from b import x` in `a` (`x` resolved to the submodule
`b.x` where there is one), plus the plugin manager's imports of the built-in
plugins, which it makes by name. Imports inside functions are deliberate
deferrals (they keep `pathways --help` fast) and do not make cycles, but they
count for privacy.
"""

from __future__ import annotations

import ast
from pathlib import Path

from pathways.plugins import DEFAULT_PLUGINS

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "pathways"


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> list[tuple[str, bool]]:
    """(imported module, at module level) for every import of a `pathways` module in `name`'s file."""
    tree = ast.parse(path.read_text(), str(path))
    top = set(map(id, tree.body))
    is_pkg = path.name == "__init__.py"
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_pkg else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        level = id(node) in top or any(id(node) in map(id, ast.walk(stmt)) for stmt in tree.body if isinstance(stmt, ast.If | ast.Try))
        found += [(t, level) for t in targets if t in MODULES]
    return found


def _graph() -> dict[str, set[str]]:
    graph = {name: {t for t, top in _imports(name, path) if top and t != name} for name, path in MODULES.items()}
    graph["pathways.plugins._manager"] |= set(DEFAULT_PLUGINS)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m) :] + [m]
            if m not in state and (found := visit(m)):
                return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state and (found := visit(n)):
            return found
    return None


def _package(module: str) -> str:
    """The subpackage a module belongs to: `pathways.train._run` -> `pathways.train`."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 and (PACKAGE / parts[1]).is_dir() else "pathways"


def test_no_import_cycles():
    cycle = _cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_walker_sees_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
    assert "pathways.components._base" in _graph()["pathways.components.text"]


def test_no_package_imports_another_packages_private_modules():
    bad = []
    for name, path in MODULES.items():
        for target, _ in _imports(name, path):
            private = any(p.startswith("_") for p in target.split(".")[2:])
            if private and _package(target) != "pathways" and _package(target) != _package(name):
                bad.append(f"{path.relative_to(ROOT)}: imports {target}")
    assert not bad, "private imports across packages (make what others need public API):\n" + "\n".join(sorted(set(bad)))


def _name_checks(tree: ast.AST) -> list[int]:
    """Lines comparing a `.type_name` / `.type` attribute with string literals (`x.cls.type_name == "lm_head"`)."""
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        named = any(isinstance(s, ast.Attribute) and s.attr in ("type_name", "type") for s in sides)
        literal = any(
            isinstance(s, ast.Constant) and isinstance(s.value, str)
            or isinstance(s, ast.Tuple | ast.List | ast.Set) and s.elts and all(isinstance(e, ast.Constant) for e in s.elts)
            for s in sides
        )
        if named and literal:
            lines.append(node.lineno)
    return lines


def test_roles_come_from_contracts_not_type_names():
    """Outside the registries, nothing asks which built-in a pathway is: it reads the component's declarations."""
    bad = [f"{path.relative_to(ROOT)}:{line}" for name, path in MODULES.items() if not name.startswith("pathways.plugins") for line in _name_checks(ast.parse(path.read_text()))]
    assert not bad, "type-name comparisons (declare a role or media on the component instead): " + ", ".join(bad)
    assert _name_checks(ast.parse("ok = node.cls.type_name == 'gemma_decoder'")) == [1]  # the check sees one
