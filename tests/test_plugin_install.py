"""The plugin guide (docs/writing-a-plugin.md), done for real: build and install
plugins/pathways-perceiver with pip into a fresh directory, then use it from a
process that sees only that installed copy: through the entry point, the
registry, the Python API and the CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = ROOT / "plugins" / "pathways-perceiver"
GUIDE = ROOT / "docs" / "writing-a-plugin.md"

# The config docs/writing-a-plugin.md shows.
CONFIG = """\
# pathways validate perceiver.yaml && pathways forward perceiver.yaml
name: image-text-perceiver
dims: {B: 2, T: 8}
batch:
  tokens: {shape: [B, T], dtype: int32}
  image: {shape: [B, 32, 32, 3], dtype: float32}
pathways:
  text:
    type: token_embedding
    config: {vocab_size: 256, width: 64}
    inputs: {tokens: batch.tokens}
  image:
    type: vit_encoder
    config: {image_size: [32, 32], patch: 4, width: 32, depth: 1, heads: 2, mlp_dim: 64, out_dim: 48}
    inputs: {images: batch.image}
  resampler:
    type: perceiver_resampler
    config: {width: 64, context_dim: 48, num_latents: 8, heads: 4}
    inputs: {tokens: image.tokens, mask: image.mask}
  fusion:
    type: early_fusion
    config: {width: 64}
    inputs: {prefix: [resampler.tokens], prefix_mask: [resampler.mask], text: text.embeddings, text_mask: text.mask}
  decoder:
    type: gemma_decoder
    config: {width: 64, depth: 1, heads: 2, kv_heads: 1, head_dim: 16, mlp_dim: 128}
    inputs: {x: fusion.x, mask: fusion.mask, positions: fusion.positions}
  lm_head:
    type: lm_head
    config: {vocab_size: 256, width: 64, tied: true}
    inputs: {x: decoder.x, embedding: text.table}
"""

# Runs in the subprocess: report, as JSON, where everything came from and what a forward pass gives.
PROBE = textwrap.dedent(
    """
    import importlib.metadata, json, sys
    import equinox as eqx, jax, jax.numpy as jnp
    import pathways, pathways_perceiver
    from pathways.plugins import component_registry

    eps = [ep for ep in importlib.metadata.entry_points(group="pathways") if ep.name == "perceiver"]
    entry = component_registry().get("perceiver_resampler")
    graph = pathways.validate(sys.argv[1])
    model = pathways.build(graph, jax.random.key(0))
    batch = {k: jnp.ones(v.shape, v.dtype) for k, v in graph.batch.items()}
    out = eqx.filter_jit(lambda m, b: m(b))(model, batch)
    print(json.dumps({
        "entry_points": [{"value": ep.value, "site": str(ep.dist.locate_file(""))} for ep in eps],
        "plugin": entry.plugin,
        "kind": entry.cls.kind,
        "module_file": pathways_perceiver.__file__,
        "node_plugin": graph.nodes["resampler"].plugin,
        "resampler_tokens": list(graph.values["resampler.tokens"].shape),
        "outputs": {k: [list(v.shape), str(v.dtype), bool(jnp.isfinite(v).all())] for k, v in out.items()},
    }))
    """
)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The plugin built from source and pip-installed into a fresh target directory.

    pip builds in the source tree, so it builds a copy: the checkout stays clean and
    concurrent runs do not share a build directory. Nothing is downloaded.
    """
    base = tmp_path_factory.mktemp("plugin-install")
    source = base / "pathways-perceiver"
    shutil.copytree(PLUGIN, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", ".pytest_cache"))
    target = base / "site-packages"
    cmd = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
           "--disable-pip-version-check", "--quiet", "--target", str(target), str(source)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, f"pip install failed:\n{done.stdout}\n{done.stderr}"
    return target


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("plugin-config") / "perceiver.yaml"
    path.write_text(CONFIG)
    return path


def run_with(installed: Path, *args: str) -> subprocess.CompletedProcess:
    """Run `python ARGS` with the installed copy first on the path."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(installed), os.environ.get("PYTHONPATH")) if p)}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=installed.parent)


def test_installed_plugin_registers_and_runs(installed, config):
    done = run_with(installed, "-c", PROBE, str(config))
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout.strip().splitlines()[-1])

    # Found through the entry point of the installed distribution, not the editable checkout.
    assert got["entry_points"] == [{"value": "pathways_perceiver.plugin", "site": str(installed)}]
    assert Path(got["module_file"]).is_relative_to(installed)
    assert (got["plugin"], got["kind"], got["node_plugin"]) == ("perceiver", "connector", "perceiver")

    assert got["resampler_tokens"] == [2, 8, 64]
    assert got["outputs"] == {"lm_head.logits": [[2, 16, 256], "float32", True]}


def test_cli_lists_validates_and_runs_installed_plugin(installed, config):
    done = run_with(installed, "-m", "pathways", "plugins", "--json")
    assert done.returncode == 0, done.stderr
    listed = {c["name"]: c for c in json.loads(done.stdout)["components"]}
    assert listed["perceiver_resampler"]["kind"] == "connector"
    assert listed["perceiver_resampler"]["plugin"] == "perceiver"

    done = run_with(installed, "-m", "pathways", "validate", str(config))
    assert done.returncode == 0, done.stdout + done.stderr

    done = run_with(installed, "-m", "pathways", "forward", str(config), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["outputs"]["lm_head.logits"]["shape"] == [2, 16, 256]


def test_guide_shows_the_config_tested_here():
    assert CONFIG in GUIDE.read_text()
