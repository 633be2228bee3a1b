"""Fixtures for the evaluation tests: tiny models trained one step through the CLI, once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from evalkit import CONFIGS

from pathways.cli import main


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory):
    """`checkpoint(name)`: a run directory of the tiny `name` model after `pathways train --steps 1` (trained once per session)."""
    done: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in done:
            root = tmp_path_factory.mktemp(f"eval-{name}")
            (root / "config.yaml").write_text(CONFIGS[name])
            code = main(["train", str(root / "config.yaml"), "--out", str(root / "run"), "--steps", "1", "--no-progress"])
            assert code == 0, f"training the tiny {name} model failed"
            done[name] = root / "run"
        return done[name]

    return get
