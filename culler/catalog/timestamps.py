"""The catalog's one clock: every row's timestamp is UTC ISO 8601 with milliseconds.

Score rows, one per photo and scorer, and the photos' first and last seen times store theirs as
milliseconds since 1970 (UTC) instead (:func:`now_ms`; a score's in an INTEGER column since
``019_scores_without_rowid``, a 6-byte number; the photos' and older scores' as 13 digits of text in a
TEXT column, both read here): :func:`iso` gives readers back the ISO text, the same characters
:func:`now` would have written, and so does :func:`iso_sql` in SQL.
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


def iso_sql(column: str) -> str:
    """SQL giving ``column`` as :func:`iso` reads it: milliseconds (digits) as the ISO text
    :func:`now` writes, anything else (ISO text an earlier version stored) as it is. Integer
    arithmetic only, so the milliseconds are exact."""
    return (
        f"(CASE WHEN {column} NOT GLOB '*[^0-9]*' AND {column} != ''"
        f" THEN strftime('%Y-%m-%dT%H:%M:%S', {column} / 1000, 'unixepoch')"
        f" || printf('.%03d+00:00', {column} % 1000) ELSE {column} END)"
    )


#: The photo columns stored as milliseconds that readers get as ISO text (:func:`photo_row`).
PHOTO_TIMES = ("first_seen", "last_seen")


def photo_row(row: dict[str, Any]) -> dict[str, Any]:
    """A whole ``photos`` row as readers see it: its first and last seen times as ISO text, its
    content hash as hex text (16 bytes since ``023_compact_photo_table``) and its ``phash`` None
    (a dHash earlier versions stored and nothing reads; NULL once a catalog is upgraded, no
    column since ``023``), so a reader sees the same row, with the same keys, before and after
    the upgrades."""
    for column in PHOTO_TIMES:
        if column in row:
            row[column] = iso(row[column])
    if isinstance(row.get("content_hash"), bytes):
        row["content_hash"] = row["content_hash"].hex()
    row["phash"] = None
    if "root_text" in row:  # the scan folder's text, read with its id (culler.catalog.roots)
        row["root"] = row.pop("root_text")
    return row
