"""Helpers shared by subcommands: JSON output and human-readable numbers."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

# Wide enough for tables when piped (rich assumes 80 columns off a terminal).
console = Console(highlight=False, width=None if sys.stdout.isatty() else 120)


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")


def human(n: float) -> str:
    """`1234567` -> `1.23M`."""
    for unit, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.2f}{unit}"
    return str(int(n))


def shape(s: dict[str, Any]) -> str:
    return f"[{','.join(str(d) for d in s['shape'])}] {s['dtype']}"
