"""`pathways plugins new NAME`: the package it writes installs into a fresh virtualenv, registers
through its entry point, and its own tests pass there as generated."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from pathways.cli import main


def test_scaffold_refuses_to_overwrite_and_bad_names(tmp_path, capsys):
    assert main(["plugins", "new", "my_enc", "--dir", str(tmp_path)]) == 0
    made = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert made == [
        "pathways-my-enc/README.md",
        "pathways-my-enc/pyproject.toml",
        "pathways-my-enc/src/pathways_my_enc/__init__.py",
        "pathways-my-enc/src/pathways_my_enc/_component.py",
        "pathways-my-enc/src/pathways_my_enc/_data.py",
        "pathways-my-enc/src/pathways_my_enc/_task.py",
        "pathways-my-enc/src/pathways_my_enc/example.yaml",
        "pathways-my-enc/src/pathways_my_enc/plugin.py",
        "pathways-my-enc/tests/test_plugin.py",
    ]
    before = (tmp_path / "pathways-my-enc" / "pyproject.toml").read_text()
    capsys.readouterr()
    assert main(["plugins", "new", "my_enc", "--dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'pathways-my-enc'}: already exists: choose another name or --dir (nothing was written)"
    assert (tmp_path / "pathways-my-enc" / "pyproject.toml").read_text() == before
    assert main(["plugins", "new", "My-Enc", "--dir", str(tmp_path)]) == 2
    assert "is not a plugin name" in capsys.readouterr().err


@pytest.mark.slow
def test_scaffolded_plugin_installs_into_a_fresh_venv_and_passes_its_tests(tmp_path):
    """The venv is new and empty; it reaches Pathways and its dependencies through a `site.addsitedir`
    line pointing at this environment (nothing can be downloaded here), and the plugin is a real,
    non-editable pip install into it."""
    assert main(["plugins", "new", "probe", "--dir", str(tmp_path)]) == 0
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    vsite = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], capture_output=True, text=True, check=True).stdout.strip()
    Path(vsite, "_pathways_parent.pth").write_text(f"import site; site.addsitedir({sysconfig.get_paths()['purelib']!r})\n")
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps", "--no-build-isolation", str(tmp_path / "pathways-probe")]
    r = subprocess.run(pip, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    where = subprocess.run([python, "-c", "import pathways_probe; print(pathways_probe.__file__)"], capture_output=True, text=True, check=True).stdout
    assert where.startswith(vsite)  # the installed copy, not the source tree
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=tmp_path / "pathways-probe", capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stdout[-3000:]
    assert "6 passed" in r.stdout
    listed = json.loads(subprocess.run([python, "-m", "pathways", "plugins", "--json"], capture_output=True, text=True, timeout=120, env=env).stdout)
    assert {"name": "probe_bottleneck", "kind": "connector", "plugin": "probe", "roles": [], "media": {}, "problem": None} in listed["components"]
