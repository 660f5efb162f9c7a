"""The catalog's one clock: every row's timestamp is UTC ISO 8601 with milliseconds.

Score rows, one per photo and scorer, store theirs as milliseconds since 1970 (UTC) instead
(:func:`now_ms`; since ``018_scores_without_rowid`` in an INTEGER column, a 6-byte number, before
that 13 digits of text in a TEXT one, both read here): :func:`iso` gives readers back the ISO text,
the same characters :func:`now` would have written. In SQL, ``datetime(created / 1000,
'unixepoch')``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


def now_ms() -> int:
    """Now, in whole milliseconds since 1970 (UTC): what :func:`now` says, as a number."""
    return to_ms(now())  # type: ignore[return-value]


def to_ms(text: Any) -> int | None:
    """An ISO timestamp :func:`now` wrote, as milliseconds since 1970; None when it is not one."""
    if not isinstance(text, str) or len(text) < 20 or text[4:5] != "-" or text[10:11] != "T":
        return None
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None or when.microsecond % 1000:
        return None  # not one this clock wrote: left as it is
    ms = (when - _EPOCH) // dt.timedelta(milliseconds=1)
    return ms if iso(ms) == text else None


def iso(value: Any) -> Any:
    """A stored timestamp as readers see it: milliseconds (a number, or its digits, as a TEXT
    column keeps them) as the ISO text :func:`now` writes; anything else as it is."""
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if type(value) is not int:
        return value
    return (_EPOCH + dt.timedelta(milliseconds=value)).isoformat(timespec="milliseconds")
