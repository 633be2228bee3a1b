"""Shared by the interop tests: the CLI run in-process."""

from __future__ import annotations

import pytest

from pathways.cli import main


@pytest.fixture
def cli(capsys):
    """`cli(*argv)` runs `pathways ARGV` in-process and returns (exit code, stdout, stderr)."""

    def run(*argv) -> tuple[int, str, str]:
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run
