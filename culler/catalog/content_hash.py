"""How the photo table stores a content hash (issue #32, the catalog's size; migration
``023_compact_photo_table``, culler.catalog.photo_table): 32 hex digits as their 16 bytes, read back
as the hex text every reader used before. Imports nothing of culler's, so the grouping, scan and
photo queries can use it without reaching the upgrade machinery the table's rebuild belongs to."""

from __future__ import annotations

import re
from typing import Any

_HEX = re.compile(r"[0-9a-f]{32}")


def stored_hash(value: Any) -> Any:
    """A content hash as the catalog stores it: 32 lowercase hex digits as their 16 bytes;
    anything else (None, text of another form) as it is."""
    if isinstance(value, str) and _HEX.fullmatch(value):
        return bytes.fromhex(value)
    return value


def hash_sql(column: str = "content_hash") -> str:
    """SQL giving a stored content hash as readers see it, hex text, whichever form it is in (a
    catalog whose table is not yet made again holds text, and the rows a scan wrote since, bytes;
    whole rows in Python: culler.catalog.timestamps.photo_row)."""
    return f"(CASE WHEN typeof({column}) = 'blob' THEN lower(hex({column})) ELSE {column} END)"
