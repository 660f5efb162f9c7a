"""The catalog layer: the one place that speaks SQL.

``core`` holds the connection (WAL, foreign keys, busy timeout), transactions and the typed accessors;
``migrations`` the numbered schema steps; ``queries`` the read side shared by the CLI and the GUI.
Commands, the GUI and plugins call named methods and functions from here instead of writing SQL.
"""

from culler.catalog.core import DEFAULT_NAME, Catalog, now, open_catalog

__all__ = ["DEFAULT_NAME", "Catalog", "now", "open_catalog"]
