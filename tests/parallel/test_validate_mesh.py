"""`pathways validate` checks the mesh on 8 simulated CPU devices: axes, batch split and parameter layout.

Every config is validated by one `pathways validate` subprocess (the device
count is fixed when JAX starts); each test reads the lines about its own file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from sharded_check import CONFIG  # noqa: E402  (dims B: 8; the ViT's patch_embed.weight is [4, 32])

MESHES = {
    "fits": "{axes: {data: 2, fsdp: -1}}",
    "small_batch": "{axes: {data: 8}}",
    "too_many": "{axes: {data: 16}}",
    "rest_indivisible": "{axes: {data: 3, fsdp: -1}}",
    "param_default_rule": "{axes: {fsdp: 8}}",
    "param_config_rule": "\n  axes: {tensor: 8}\n  rules:\n    - {match: patch_embed, spec: [tensor, null]}",
}


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> dict[str, tuple[str, str]]:
    """File stem -> (its stdout summary line or "", its stderr lines joined)."""
    tmp = tmp_path_factory.mktemp("mesh")
    shutil.copy(ROOT / "examples" / "tokenizers" / "english.model", tmp / "english.model")
    paths = []
    for name, mesh in MESHES.items():
        config = CONFIG.replace("dims: {B: 8,", "dims: {B: 4,") if name == "small_batch" else CONFIG
        (tmp / f"{name}.yaml").write_text(config + f"mesh: {mesh}\n")
        paths.append(str(tmp / f"{name}.yaml"))
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=8", "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, "-m", "pathways", "validate", *paths], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    out = {}
    for name, path in zip(MESHES, paths):
        valid = next((l for l in proc.stdout.splitlines() if l.startswith(f"{path}: valid")), "")
        errors = [l for l in proc.stderr.splitlines() if l.startswith(f"error: {path}:")]
        out[name] = (valid, "\n".join(errors))
    return out


def line_of(name: str, text: str) -> int:
    """1-based line of the first line of the `name` config holding `text`."""
    lines = (CONFIG + f"mesh: {MESHES[name]}\n").splitlines()
    return next(i for i, l in enumerate(lines, 1) if text in l)


def test_a_mesh_that_fits_validates(report):
    valid, errors = report["fits"]
    assert valid and errors == ""


def test_batch_not_divisible_by_the_data_axes_names_field_size_and_devices(report):
    _, errors = report["small_batch"]
    assert "batch.tokens.shape.0: batch.tokens has batch size B = 4, which is not divisible by the 8 devices of the data axes (data=8 x fsdp=1)" in errors
    assert f"small_batch.yaml:{line_of('small_batch', 'tokens: {shape')}:" in errors  # the line of the field


def test_more_devices_than_available(report):
    _, errors = report["too_many"]
    assert f"too_many.yaml:{line_of('too_many', 'mesh:')}:" in errors
    assert "mesh.axes: data=16 x fsdp=1 x tensor=1 = 16 devices, but 8 are available" in errors


def test_rest_axis_that_cannot_take_the_remaining_devices(report):
    _, errors = report["rest_indivisible"]
    assert "mesh.axes: 8 devices cannot be split by the fixed axes (product 3)" in errors


def test_parameter_split_by_a_default_rule_is_placed_at_its_axis(report):
    valid, errors = report["param_default_rule"]
    assert not valid
    assert "mesh.axes.fsdp: parameter image.patch_embed.weight: dimension 0 of size 4 is not divisible by mesh axis 'fsdp' of size 8" in errors


def test_parameter_split_by_a_config_rule_is_placed_at_the_rule(report):
    _, errors = report["param_config_rule"]
    at = line_of("param_config_rule", "match: patch_embed")
    assert f"param_config_rule.yaml:{at}:" in errors
    assert "mesh.rules.0: parameter image.patch_embed.weight: dimension 0 of size 4 is not divisible by mesh axis 'tensor' of size 8" in errors
