"""Fixtures for training tests: a tiny digits config, a trained base run, and a compilation cache."""

from __future__ import annotations

from pathlib import Path

import jax
import pytest
from trainkit import write_config

from pathways.cli import main

CACHE_OPTIONS = ("jax_compilation_cache_dir", "jax_persistent_cache_min_compile_time_secs", "jax_persistent_cache_min_entry_size_bytes")


@pytest.fixture(scope="session", autouse=True)
def compilation_cache(tmp_path_factory):
    """Every `prepare` jits a new train step; the same program then compiles once per session, not once per run.

    XLA compilation dominates a tiny run (~4 s of ~5 s on 2 cores); the cache is a fresh
    directory, and the previous settings are restored afterwards. (Briefly off in 9a87fad,
    blamed for crashes that were the process running out of memory maps: see ../../conftest.py.)
    """
    previous = {name: getattr(jax.config, name) for name in CACHE_OPTIONS}
    jax.config.update("jax_compilation_cache_dir", str(tmp_path_factory.mktemp("jax-cache")))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    yield
    for name, value in previous.items():
        jax.config.update(name, value)


@pytest.fixture
def digits_config(tmp_path) -> Path:
    return write_config(tmp_path)


@pytest.fixture(scope="session")
def base_run(tmp_path_factory) -> Path:
    """A tiny digits model trained for 4 steps (all pathways): the checkpoint fine-tunes start from.

    Shared by many tests; treat as read-only.
    """
    root = tmp_path_factory.mktemp("base")
    config = write_config(root)
    assert main(["train", str(config), "--out", str(root / "run"), "--no-progress"]) == 0
    return root / "run"
