"""The catalog layer: the one place that speaks SQL.

``core`` holds the connection (WAL, foreign keys, busy timeout), transactions and the scorer accessors;
``migrations`` the numbered schema steps; ``opening`` refuses files that are not our catalogs and
turns a locked or read-only catalog into one clear line (:class:`CatalogError`); ``queries`` the listing shared by the CLI and the GUI. The
named methods of :class:`Catalog` come from one mixin per subject: ``photos`` (what viewers read),
``ratings`` (rating events and the one undo), ``training`` (training runs, embeddings the trainer
computes); ``feature_cache`` is the trainer's cache file for datasets outside a catalog. Commands, the
GUI, the trainer and plugins call these methods instead of writing SQL (``tests/test_architecture.py``
checks it).
"""

from culler.catalog.core import DEFAULT_NAME, Catalog, open_catalog
from culler.catalog.opening import CatalogError
from culler.catalog.ratings import HUMAN_SOURCES, RatingBatch
from culler.catalog.timestamps import now

__all__ = [
    "DEFAULT_NAME",
    "HUMAN_SOURCES",
    "Catalog",
    "CatalogError",
    "RatingBatch",
    "now",
    "open_catalog",
]
