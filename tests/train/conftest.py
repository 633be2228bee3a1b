"""Fixtures for training tests: a tiny digits config and a trained base run."""

from __future__ import annotations

from pathlib import Path

import pytest
from trainkit import write_config

from pathways.cli import main

# No persistent compilation cache here: it made tiny runs compile once per session, but
# XLA:CPU's executable.serialize() (jax compilation_cache.put_executable_and_time) aborted
# the interpreter in 2 of 3 full runs on 2026-12-04, once in these tests, once in a plugin's.


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
