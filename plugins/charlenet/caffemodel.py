"""Read the weight blobs of a Caffe ``.caffemodel`` without Caffe or a protobuf compiler.

A ``.caffemodel`` is one protobuf ``NetParameter`` message. Only the few fields that hold weights are
read, straight from the protobuf wire format (each field is a varint key ``number << 3 | wire type``
followed by a varint, a fixed 32/64-bit value or a length-prefixed byte string):

====================== ====================================================================
message                fields read (number: meaning)
====================== ====================================================================
NetParameter           100: ``layer`` (LayerParameter, current format);
                       2: ``layers`` (V1LayerParameter, the format of BVLC's 2014 release files)
LayerParameter         1: name; 7: blobs (BlobProto)
V1LayerParameter       4: name; 6: blobs (BlobProto)
BlobProto              7: shape (BlobShape, 1: dim, repeated int64); 5: data (repeated float,
                       packed); 8: double_data; 1–4: num, channels, height, width (legacy shape)
====================== ====================================================================

Every other field is skipped by its wire type, so files carrying solver state, layer parameters or
fields added by later Caffe versions read the same. The packed float data is viewed with
``numpy.frombuffer`` and copied once, so no Python loop runs per number: a full-size CaffeNet (244 MB)
reads in 0.5–1.6 s on a busy 2-core machine (``benchmarks/caffemodel_import.py``). Nothing in the file
is executed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from culler.api import WeightsError

VARINT, FIXED64, BYTES, FIXED32 = 0, 1, 2, 5


def _varint(buf: memoryview, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= len(buf):
            raise WeightsError("truncated protobuf varint: the .caffemodel is damaged or cut short")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise WeightsError("protobuf varint longer than 10 bytes: not a .caffemodel")


def fields(buf: memoryview) -> Iterator[tuple[int, int, int | memoryview]]:
    """``(field number, wire type, value)`` for each field of one message; values of length-delimited
    fields are views into ``buf`` (no copy), fixed-size values their raw bytes."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == VARINT:
            value, pos = _varint(buf, pos)
            yield number, wire, value
        elif wire in (FIXED64, FIXED32):
            size = 8 if wire == FIXED64 else 4
            if pos + size > len(buf):
                raise WeightsError("truncated protobuf field: the .caffemodel is damaged")
            yield number, wire, buf[pos : pos + size]
            pos += size
        elif wire == BYTES:
            size, pos = _varint(buf, pos)
            if pos + size > len(buf):
                raise WeightsError("truncated protobuf message: the .caffemodel is damaged")
            yield number, wire, buf[pos : pos + size]
            pos += size
        else:  # 3/4 are proto1 groups, which Caffe never wrote; 6/7 do not exist
            raise WeightsError(f"protobuf wire type {wire} at byte {pos}: not a .caffemodel")


def _packed_ints(value: int | memoryview, wire: int) -> list[int]:
    if wire == VARINT:
        return [int(value)]  # type: ignore[arg-type]
    view, pos, out = value, 0, []
    while pos < len(view):  # type: ignore[arg-type]
        item, pos = _varint(view, pos)  # type: ignore[arg-type]
        out.append(item)
    return out


def read_blob(buf: memoryview) -> np.ndarray:
    """One BlobProto as a float32 array of its shape (``shape`` if present, else num/channels/…)."""
    chunks: list[np.ndarray] = []
    dims: list[int] = []
    legacy = {1: 1, 2: 1, 3: 1, 4: 1}
    has_legacy = False
    for number, wire, value in fields(buf):
        if number == 5 and wire in (BYTES, FIXED32):  # packed, or one float per field
            chunks.append(np.frombuffer(value, dtype="<f4"))
        elif number == 8 and wire in (BYTES, FIXED64):
            chunks.append(np.frombuffer(value, dtype="<f8").astype(np.float32))
        elif number == 7 and wire == BYTES:
            for sub, sub_wire, sub_value in fields(value):  # type: ignore[arg-type]
                if sub == 1:
                    dims += _packed_ints(sub_value, sub_wire)
        elif number in legacy and wire == VARINT:
            legacy[number] = int(value)  # type: ignore[arg-type]
            has_legacy = True
    data = chunks[0] if len(chunks) == 1 else np.concatenate(chunks or [np.zeros(0, np.float32)])
    shape = dims or ([legacy[1], legacy[2], legacy[3], legacy[4]] if has_legacy else [data.size])
    if int(np.prod(shape)) != data.size:
        raise WeightsError(
            f"a blob of shape {shape} holds {data.size} numbers: damaged .caffemodel"
        )
    # One copy: the array owns its memory instead of pinning the whole file's bytes.
    return np.array(data, dtype=np.float32, copy=True).reshape(shape)


def _layer(buf: memoryview, name_field: int, blobs_field: int) -> tuple[str, list[np.ndarray]]:
    name, blobs = "", []
    for number, wire, value in fields(buf):
        if number == name_field and wire == BYTES:
            name = bytes(value).decode("utf-8", "replace")  # type: ignore[arg-type]
        elif number == blobs_field and wire == BYTES:
            blobs.append(read_blob(value))  # type: ignore[arg-type]
    return name, blobs


def read_caffemodel(path: str | Path) -> dict[str, np.ndarray]:
    """Every layer's blobs as ``{"LAYER/0": weights, "LAYER/1": bias, …}`` (Caffe's blob order), for
    layers that have any (ReLU, pooling and LRN layers hold none)."""
    data = memoryview(Path(path).read_bytes())
    arrays: dict[str, np.ndarray] = {}
    saw_v0 = False
    for number, wire, value in fields(data):
        if wire != BYTES:
            continue
        if number == 100:
            name, blobs = _layer(value, 1, 7)  # type: ignore[arg-type]
        elif number == 2:
            name, blobs = _layer(value, 4, 6)  # type: ignore[arg-type]
            saw_v0 = saw_v0 or (not name and not blobs)
        else:
            continue
        for i, blob in enumerate(blobs):
            arrays[f"{name}/{i}"] = blob
    if not arrays:
        hint = (
            " (it looks like the pre-2014 V0 format: upgrade it with Caffe's "
            "upgrade_net_proto_binary, or export the blobs to an .npz)"
            if saw_v0
            else ""
        )
        raise WeightsError(f"{Path(path).name}: no layer with weights found{hint}")
    return arrays
