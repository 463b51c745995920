"""Allowed ranges of numeric settings, checked before any work starts.

One table per config; the configs' ``validate()`` checks them (so the Python API refuses ``alpha=1e30`` just as
the CLI does) and the CLI builds its option types from the same table (so ``--epochs 0`` is a usage error at
parse time, with the range in the message). NaN and infinity are never accepted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from embedeval.errors import EmbedevalError


@dataclass(frozen=True)
class Range:
    kind: type = float  # int or float
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # low itself is not allowed
    high_open: bool = False

    def describe(self) -> str:
        noun = "an integer" if self.kind is int else "a number"
        if self.low is not None and self.high is not None:
            left, right = ("(" if self.low_open else "["), (")" if self.high_open else "]")
            return f"{noun} in {left}{self.low:g}, {self.high:g}{right}"
        if self.low is not None:
            return f"{noun} {'>' if self.low_open else '>='} {self.low:g}"
        if self.high is not None:
            return f"{noun} {'<' if self.high_open else '<='} {self.high:g}"
        return f"a finite {noun.split()[-1]}"

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not allowed, or None."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"must be {self.describe()}"
        if self.kind is int and not isinstance(value, int):
            return f"must be {self.describe()}"
        if not math.isfinite(value):
            return f"must be {self.describe()}, not {value}"
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return f"must be {self.describe()}"
        if self.high is not None and (value > self.high or (self.high_open and value == self.high)):
            return f"must be {self.describe()}"
        return None


def positive_int(high: float | None = None) -> Range:
    return Range(int, 1, high)


def check_ranges(config: Any, ranges: dict[str, Range]) -> None:
    """Raise on the first field of ``config`` outside its range (``None`` means "not set" and passes)."""
    for name, allowed in ranges.items():
        value = getattr(config, name, None)
        if value is None:
            continue
        why = allowed.problem(value)
        if why:
            raise EmbedevalError(f"--{name.replace('_', '-')} {value!r}: {why}")
