"""Checking text that comes from outside (arguments, settings, files) before culler uses or prints it.

Numbers: ``float("nan")`` and ``float("1e999")`` parse, and then spread — NaN makes ``--json`` output
invalid JSON, Infinity is stored as a setting and kept, a negative weight silently decides nothing. So
every number from an argument or a setting must be finite and in its range. Text: a file name or an
EXIF field may hold terminal escape codes or rich markup, so it is made printable before it is shown.
"""

from __future__ import annotations

import math
import re
from typing import Any

import click

#: Largest count an option takes (SQLite's LIMIT is a signed 64-bit integer).
MAX_COUNT = 2**63 - 1


def finite(value: float, name: str, low: float | None = None, high: float | None = None) -> float:
    """``value`` when it is a finite number in ``[low, high]``; else ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, not {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, not {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must be {_range(low, high)}, not {value!r}")
    return float(value)


def _range(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"between {low:g} and {high:g}"
    return f"at least {low:g}" if low is not None else f"at most {high:g}"


def non_finite_in(value: Any) -> str | None:
    """The first non-finite number (as text) anywhere in a JSON-like ``value``, else None."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        for item in value:
            found = non_finite_in(item)
            if found is not None:
                return found
    return None


class FiniteFloat(click.FloatRange):
    """A ``click.FloatRange`` that also refuses ``nan``, ``inf`` and numbers too large for a float."""

    name = "float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


class Count(click.IntRange):
    """A non-negative count that fits SQLite's 64-bit integers (``--limit 1e30`` is refused)."""

    name = "integer"

    def __init__(self, min: int = 0) -> None:
        super().__init__(min=min, max=MAX_COUNT)


#: C0 and C1 control characters: cursor moves, colour changes, window titles, bells…
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def control_characters(text: str) -> str | None:
    """The first control character in ``text`` written as an escape (``'\\x01'``), else None."""
    found = _CONTROL.search(text)
    return None if found is None else repr(found.group())


def printable(text: Any) -> str:
    """``text`` safe to print on a terminal: each control character shown as its escape (``\\x1b``)
    rather than sent raw, so a file name or EXIF field cannot drive the terminal."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], str(text))


def plain_text(text: str, what: str, example: str, param_hint: str) -> str:
    """``text`` typed by the user, refused when it holds control characters (they would be stored
    in the catalog and written to sidecars), stripped of surrounding spaces."""
    bad = control_characters(text)
    if bad is not None:
        raise click.BadParameter(
            f"'{printable(text)}' contains the control character {bad}; type {what} as plain "
            f"text (e.g. {example})",
            param_hint=param_hint,
        )
    return text.strip()


def label(text: str) -> str:
    """A colour label typed by the user (see :func:`plain_text`)."""
    return plain_text(text, "the label", "Red", "--label")
