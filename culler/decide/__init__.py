"""Decisions about photos: which frames belong together, which of them to keep, and how well that
agrees with the photographer.

``grouping`` finds bursts and near-duplicates from the signatures the scan stored, ``frames`` registers
the frames of a group so they are compared on the same regions, and ``cull`` combines the scores by
role into picks and rejects, each with the reason that decided it. ``people`` clusters faces into the
people of a catalog. ``agreement`` measures the cull against the photographer's own marks (read from
the catalog or, through :mod:`culler.interop.xmp`, from sidecars), and ``ranker`` with its features and
training learns a personal ranker from them that the cull uses only when it wins on held-out shoots.
"""
