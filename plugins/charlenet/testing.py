"""A minimal protobuf *writer* for ``.caffemodel`` files, for tests and benchmarks of the reader
(:mod:`culler_plugins.charlenet.caffemodel`) without Caffe.

It lays bytes out as Caffe writes them — ``NetParameter`` with current (``layer``, 100) or V1
(``layers``, 2) layers, ``BlobProto`` with a ``BlobShape`` or the legacy num/channels/height/width, packed
or one-per-field floats — and is written from the protobuf encoding rules, not from the reader, so the
two check each other.
"""

from __future__ import annotations

import struct

import numpy as np


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def key(field: int, wire: int) -> bytes:
    return varint(field << 3 | wire)


def ld(field: int, payload: bytes) -> bytes:
    return key(field, 2) + varint(len(payload)) + payload


def blob(array: np.ndarray, legacy: bool = False, packed: bool = True) -> bytes:
    """A BlobProto: BlobShape (7) or the legacy num/channels/height/width (1–4), then data (5)."""
    if legacy:
        dims = [1] * (4 - array.ndim) + list(array.shape)
        shape = b"".join(key(i + 1, 0) + varint(d) for i, d in enumerate(dims))
    else:
        shape = ld(7, ld(1, b"".join(varint(d) for d in array.shape)))
    flat = np.ascontiguousarray(array, dtype="<f4").reshape(-1)
    if packed:
        body = ld(5, flat.tobytes())
    else:
        body = b"".join(key(5, 5) + struct.pack("<f", v) for v in flat.tolist())
    return shape + body


def layer(name: str, blobs: list[bytes], v1: bool) -> bytes:
    if v1:  # V1LayerParameter: name 4, type 5 (an enum), blobs 6
        return ld(4, name.encode()) + key(5, 0) + varint(4) + b"".join(ld(6, b) for b in blobs)
    # LayerParameter: name 1, type 2, blobs 7; 10 (phase) is a field the reader must skip
    return (
        ld(1, name.encode())
        + ld(2, b"Convolution")
        + key(10, 0)
        + varint(1)
        + b"".join(ld(7, b) for b in blobs)
    )


def write_caffemodel(path, layers: dict[str, list[np.ndarray]], v1: bool, legacy: bool = False):
    """NetParameter: name (1), then layer (100) or V1 layers (2); written layer by layer."""
    with open(path, "wb") as fh:
        fh.write(ld(1, b"CaffeNet"))
        for name, arrays in layers.items():
            fh.write(ld(2 if v1 else 100, layer(name, [blob(a, legacy) for a in arrays], v1)))
    return path
