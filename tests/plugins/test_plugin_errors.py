"""What a plugin author sees when their plugin is broken: one line naming the package, the module,
the exception and where it was raised; the full traceback with --debug; a config that needs the
plugin's type says the plugin failed; a module with no hooks is warned about. Run as a user would,
in a subprocess that sees a fake installed distribution."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.plugins.test_hooks import FIXTURES, fake_distribution

CONFIG = """\
dims: {B: 2, T: 4}
batch: {tokens: {shape: [B, T], dtype: int32}}
pathways:
  text: {type: token_embedding, config: {vocab_size: 16, width: 8}, inputs: {tokens: batch.tokens}}
  mine: {type: fancy_encoder, config: {width: 8}, inputs: {x: text.embeddings}}
"""


@pytest.fixture
def site(tmp_path) -> Path:
    site = tmp_path / "site"
    (site / "fancy").mkdir(parents=True)
    (site / "fancy" / "__init__.py").write_text("")
    (site / "fancy" / "plugin.py").write_text("import math\n\nRATIO = math.tau / undefined_name\n")
    fake_distribution(site, "pathways_fancy", {"fancy": "fancy.plugin"})
    (site / "quiet").mkdir()
    (site / "quiet" / "__init__.py").write_text("def pathways_register_components():  # no @hookimpl\n    return []\n")
    fake_distribution(site, "pathways_quiet", {"quiet": "quiet"})
    (tmp_path / "c.yaml").write_text(CONFIG)
    return site


def pathways(site: Path, *argv: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environ = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", **(env or {})}
    if "PATHWAYS_DEBUG" not in (env or {}):
        environ.pop("PATHWAYS_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "pathways", *argv], capture_output=True, text=True, env=environ, cwd=site.parent, timeout=120)


def test_a_plugin_that_fails_to_import_is_one_line_and_the_config_says_why(site):
    r = pathways(site, "validate", "c.yaml")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    fancy = [line for line in lines if "'fancy'" in line]
    assert fancy[0] == (
        "warning: plugin 'fancy' (package pathways_fancy) failed to load from 'fancy.plugin': NameError: name 'undefined_name' "
        f"is not defined (at {site / 'fancy' / 'plugin.py'}:3) (--debug or PATHWAYS_DEBUG=1 shows the traceback)"
    )
    assert "Traceback" not in r.stderr
    (error,) = [line for line in lines if line.startswith("error:")]
    assert error.startswith("error: c.yaml:5:10: pathways.mine.type: unknown component type 'fancy_encoder'")
    assert error.endswith("; it may come from a plugin that failed to load: plugin 'fancy' (package pathways_fancy) failed to load from "
                          f"'fancy.plugin': NameError: name 'undefined_name' is not defined (at {site / 'fancy' / 'plugin.py'}:3)")


@pytest.mark.parametrize("how", ["--debug", "PATHWAYS_DEBUG=1"])
def test_debug_shows_the_traceback(site, how):
    r = pathways(site, "--debug", "validate", "c.yaml") if how == "--debug" else pathways(site, "validate", "c.yaml", env={"PATHWAYS_DEBUG": "1"})
    assert r.returncode == 2
    assert "Traceback (most recent call last)" in r.stderr and 'fancy/plugin.py", line 3, in <module>' in r.stderr


def test_a_plugin_module_without_hooks_is_warned_about(site):
    r = pathways(site, "validate", "c.yaml")
    (quiet,) = [line for line in r.stderr.splitlines() if "'quiet'" in line]
    assert quiet.startswith("warning: plugin 'quiet' (package pathways_quiet) registers nothing: module 'quiet' has no @pathways.hookimpl functions")


BENT = (FIXTURES / "scaled_identity.py").read_text().replace('return {"x": x * self.scale}', 'return {"x": (x * self.scale)[:, :, :-1]}').replace("scaled_identity", "bent_identity")


def test_plugins_reports_a_component_whose_forward_breaks_its_ports(site, tmp_path):
    (site / "bent").mkdir()
    (site / "bent" / "__init__.py").write_text(BENT)
    fake_distribution(site, "pathways_bent", {"bent": "bent"})
    env = {"PATHWAYS_CACHE_DIR": str(tmp_path / "cache")}
    r = pathways(site, "plugins", env=env)
    assert r.returncode == 1
    (line,) = [x for x in r.stderr.splitlines() if x.startswith("error:")]
    assert line == "error: component 'bent_identity' (plugin bent): AssertionError: bent_identity output 'x': expected [2,8,8] float, got [2,8,7] float32: axis 2 is 7, expected 8"
    assert "bent_identity" in r.stdout and "(broken)" in r.stdout


def test_plugins_and_schema_answer_from_a_cache_without_jax(site, tmp_path):
    env = {"PATHWAYS_CACHE_DIR": str(tmp_path / "cache")}
    probe = "import sys, warnings; from pathways.plugins import snapshot; s = snapshot(); print(len(s['components']), 'jax' in sys.modules)"
    run = lambda: subprocess.run([sys.executable, "-W", "ignore", "-c", probe], capture_output=True, text=True, timeout=120,  # noqa: E731
                                 env={**os.environ, **env, "PYTHONPATH": str(site)})
    cold, warm = run(), run()
    assert cold.stdout.split()[1] == "True" and warm.stdout.split() == [cold.stdout.split()[0], "False"]
    (site / "fancy" / "plugin.py").write_text("import math\n\nRATIO = math.tau / undefined_name  # edited\n")  # a plugin's source changes
    assert run().stdout.split()[1] == "True"  # rebuilt
    r = pathways(site, "plugins", env=env)  # warm again: the load warnings are still shown
    assert r.returncode == 0 and any(x.startswith("warning: plugin 'fancy' (package pathways_fancy) failed to load") for x in r.stderr.splitlines())
    schema = json.loads(pathways(site, "schema", env=env).stdout)
    assert "clip_encoder" in schema["$defs"]["PathwaySpec"]["properties"]["type"]["enum"]
