"""click parameter types built from :mod:`embedeval.ranges`: a bad number is a usage error at parse time."""

from __future__ import annotations

from typing import Any

import click

from embedeval.ranges import Range


class Number(click.ParamType):
    """An int or float inside a :class:`Range`; NaN and infinity refused."""

    def __init__(self, allowed: Range):
        self.allowed = allowed
        self.name = allowed.kind.__name__

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "INTEGER" if self.allowed.kind is int else "FLOAT"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = value
        else:
            text = str(value).strip()
            try:
                number = int(text) if self.allowed.kind is int else float(text)
            except ValueError:
                self.fail(f"{value!r} is not {self.allowed.describe()}", param, ctx)
        if self.allowed.kind is float:
            number = float(number)
        why = self.allowed.problem(number)
        if why:
            self.fail(f"{value!r} {why}", param, ctx)
        return number


def number(allowed: Range) -> Number:
    return Number(allowed)
