"""Argument types for numeric flags: a bad value is refused by argparse with one line naming the flag
(`argument --workers: must be at least 1, got 0`) and exit 2, before any work starts."""

from __future__ import annotations

import argparse
import math
from typing import Callable


def _parse(kind: type, text: str) -> int | float:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not {'an integer' if kind is int else 'a number'}: {text!r}") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def at_least(low: int) -> Callable[[str], int]:
    """An integer >= `low`."""

    def parse(text: str) -> int:
        value = _parse(int, text)
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    parse.__name__ = f"integer >= {low}"
    return parse


positive_int = at_least(1)
nonnegative_int = at_least(0)


def number(*, low: float | None = None, high: float | None = None, low_open: bool = False, high_open: bool = False) -> Callable[[str], float]:
    """A finite float in the interval given (`low_open`: `low` itself excluded)."""
    interval = f"{'(' if low_open else '['}{'-inf' if low is None else f'{low:g}'}, {'inf' if high is None else f'{high:g}'}{')' if high_open else ']'}"

    def parse(text: str) -> float:
        value = _parse(float, text)
        below = low is not None and (value <= low if low_open else value < low)
        above = high is not None and (value >= high if high_open else value > high)
        if below or above:
            raise argparse.ArgumentTypeError(f"must be in {interval}, got {text}")
        return value

    parse.__name__ = f"number in {interval}"
    return parse


positive_float = number(low=0, low_open=True)
nonnegative_float = number(low=0)
