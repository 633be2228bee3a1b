"""`pathways plugins new NAME`: a plugin package that installs, registers and passes its own tests at once.

The templates under `scaffold/` are a complete package: pyproject with the entry
point, a component, a dataset, an evaluation task, an example config and tests
written with `pathways.testing`. `{name}` / `{Name}` are filled in; braces that
belong to the code are doubled in the templates.
"""

from __future__ import annotations

import re
from pathlib import Path

from pathways._errors import PathwaysError, Problem

TEMPLATES = Path(__file__).parent / "scaffold"
NAME = re.compile(r"[a-z][a-z0-9_]*")


def _target(rel: Path, name: str) -> Path:
    """Where template `rel` goes in the package: `src/x.py.tmpl` -> `src/pathways_<name>/x.py`."""
    rel = rel.with_suffix("")  # drop .tmpl
    if rel.parts[0] == "src":
        return Path("src", f"pathways_{name}", *rel.parts[1:])
    return rel


def new_plugin(name: str, parent: str | Path = ".") -> Path:
    """Write the package `pathways-<name>` (`_` written `-`) under `parent`; returns its directory. Never overwrites."""
    if not NAME.fullmatch(name):
        raise PathwaysError([Problem("NAME", f"{name!r} is not a plugin name: lowercase letters, digits and _, starting with a letter (e.g. my_encoder)")])
    dist = name.replace("_", "-")
    root = Path(parent) / f"pathways-{dist}"
    if root.exists():
        raise PathwaysError([Problem("", "already exists: choose another name or --dir (nothing was written)", str(root))])
    camel = "".join(part.capitalize() for part in name.split("_"))
    files = {_target(t.relative_to(TEMPLATES), name): t.read_text().format(name=name, Name=camel, dist=dist) for t in sorted(TEMPLATES.rglob("*.tmpl"))}
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root
