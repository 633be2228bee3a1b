"""Fixtures shared by the tests: a PRNG key and a YAML writer (strict JAX is set in ../conftest.py)."""

from __future__ import annotations

from pathlib import Path

import jax
import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture
def key():
    return jax.random.key(0)


@pytest.fixture
def write_yaml(tmp_path):
    """Write a YAML text to a file under tmp_path and return its path."""

    def write(text: str, name: str = "config.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write
