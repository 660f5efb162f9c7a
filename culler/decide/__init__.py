"""Decisions about photos: which frames belong together and which of them to keep.

``grouping`` finds bursts and near-duplicates from the signatures the scan stored, ``frames`` registers
the frames of a group so they are compared on the same regions, and ``cull`` combines the scores by
role into picks and rejects, each with the reason that decided it. Everything here reads the catalog and
the scores; nothing here decodes a photo except ``frames`` (through :mod:`culler.imaging`).
"""
