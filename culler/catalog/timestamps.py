"""The catalog's one clock: every row's timestamp is UTC ISO 8601 with milliseconds."""

from __future__ import annotations

import datetime as dt


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")
