"""How long importing BVLC's ImageNet CaffeNet takes: the hand-written protobuf reader on a full-size
``.caffemodel`` (V1 layers, legacy blob shapes, 60 965 224 floats = 244 MB, the layout of
``bvlc_reference_caffenet.caffemodel``) and the conversion to CharLeNet's safetensors.

The values are random (the real file cannot ship with culler); reading cost depends only on the layout
and size. Usage: python benchmarks/caffemodel_import.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import torch  # noqa: F401 -- imported before timing: not the conversion's cost
from culler_plugins.charlenet.caffemodel import read_caffemodel
from culler_plugins.charlenet.convert import convert_file
from culler_plugins.charlenet.testing import write_caffemodel

SHAPES = {
    "conv1": (96, 3, 11, 11),
    "conv2": (256, 48, 5, 5),
    "conv3": (384, 256, 3, 3),
    "conv4": (384, 192, 3, 3),
    "conv5": (256, 192, 3, 3),
    "fc6": (4096, 9216),
    "fc7": (4096, 4096),
    "fc8": (1000, 4096),
}


def main() -> None:
    rng = np.random.default_rng(0)
    layers = {"data": []}
    for name, shape in SHAPES.items():
        layers[name] = [
            rng.standard_normal(shape, dtype=np.float32) * 0.01,
            np.zeros(shape[0], np.float32),
        ]
        layers[f"relu_{name}"] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = write_caffemodel(Path(tmp) / "caffenet.caffemodel", layers, v1=True, legacy=True)
        size = path.stat().st_size
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            arrays = read_caffemodel(path)
            runs.append(time.perf_counter() - started)
        floats = sum(a.size for a in arrays.values())
        started = time.perf_counter()
        convert_file(path, Path(tmp) / "out")
        convert_s = time.perf_counter() - started
    print(f"caffemodel: {size / 1e6:.1f} MB, {floats} floats in {len(arrays)} blobs")
    print(f"read (best of 3): {min(runs):.2f} s = {size / 1e6 / min(runs):.0f} MB/s")
    print(f"read + convert to caffenet-imagenet.safetensors: {convert_s:.2f} s")


if __name__ == "__main__":
    main()
