"""The cheap first stage of the face search: MTCNN's P-Net and R-Net, run with NumPy.

dlib's HOG detector (``detect.py``) decides what is a face; it is exact but costs about 40 ms on a
1024 px photo, and finding faces below its 80 px window means enlarging the photo (0.2 s and more).
MTCNN's first two networks (Zhang et al. 2016) are a few thousand weights: P-Net slides a 12 px
window over a pyramid of the photo, R-Net re-reads each place it proposes at 24 × 24 px and keeps
the face-like ones. Together they cost about a third of the HOG search over the whole photo, faces
from 3 % of its longer side included, and they propose a handful of places (none on most photos
without people); HOG then looks only at those, each crop resized so its face fills dlib's window.

The weights are the ``pnet.pt`` and ``rnet.pt`` files inside the ``facenet-pytorch`` wheel (MIT;
see docs/models.md), checked by SHA-256 and read without importing PyTorch or that package (whose
code pins an old torch): they are PyTorch's legacy pickle format, a few tensors of float32.
Nothing is downloaded at run time; without the package the faces scorer searches with HOG alone.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import pickle
import struct
from collections import OrderedDict
from pathlib import Path
from typing import Any

import cv2
import numpy as np

PACKAGE = "facenet_pytorch"
INSTALL_HINT = "pip install --no-deps facenet-pytorch"
#: The files this code was written against (facenet-pytorch 2.5.x-2.6.0 ship the same ones).
SHA256 = {
    "pnet.pt": "a2a71925e0b9996a42f63e47efc1ca19043e69558b5c523b978d611dfae49c8f",
    "rnet.pt": "bbb937de72efc9ef83b186c49f5f558467a1d7e3453a8ece0d71a886633f6a86",
}
#: P-Net's probability a window must reach to be re-read by R-Net, and R-Net's to be handed to
#: HOG. MTCNN's own thresholds are 0.6 and 0.7. HOG, not R-Net, decides, so R-Net's threshold only
#: weighs a missed face against a false proposal's HOG search (4-5 ms with its 2.2× context):
#: every labelled face of benchmarks/faces_people.py (3-5 % of the frame included) comes from a
#: proposal of 0.98 or more, while on photos without people 0.7 handed HOG 2.8 places a photo and
#: 0.9 hands it 0.8 (docs/culling.md, "The cost on photos without people"). P-Net's 0.7 (faces
#: scorer version 6) re-reads a third fewer places (0.125 ms each) than 0.6: a window of 0.7 or
#: more is kept or suppressed by the same windows as before (non-maximum suppression goes from the
#: most probable down), so the places dropped are exactly those under 0.7; every labelled face of
#: that benchmark, its copies scaled to 3, 3.3, 3.5, 4, 4.5, 5.5 and 7 % included (336 faces), has
#: a place of P-Net 0.77 or more that R-Net keeps (docs/culling.md, "version 6").
PNET_THRESHOLD = 0.7
RNET_THRESHOLD = 0.9
#: The pyramid's step between scales (MTCNN's own).
FACTOR = 0.6
#: Non-maximum suppression of P-Net's windows (intersection over union): within a pyramid level,
#: then across levels (MTCNN's own: 0.5 and 0.7). Each window kept is one R-Net row.
PNET_LEVEL_NMS = 0.5
PNET_NMS = 0.7
#: At most this many proposals are re-read by R-Net (the most probable), and handed to HOG.
MAX_PNET = 2000
#: P-Net networks kept, one per mosaic shape (a shoot has one or two: landscape and portrait);
#: each holds its buffers, about 20 MB.
MAX_PNET_SHAPES = 4
#: R-Net reads its crops in batches of at most this many, the rest in batches of powers of two
#: (75 crops: 32 + 32 + 8 + 2 + 1), each size its own network: OpenCV sets a network up again when
#: the batch size changes (1-6 ms), and a padded row costs as much as a real one (about 0.16 ms).
RNET_BATCH = 32
MAX_RNET = 64

_NETS: dict[str, dict[str, np.ndarray]] = {}


def weights_dir() -> Path | None:
    """The installed ``facenet_pytorch/data`` folder, found without importing the package."""
    folder = _package_folder()
    path = folder / "data" if folder is not None else None
    return path if path is not None and path.is_dir() else None


@functools.lru_cache(maxsize=1)
def _package_folder() -> Path | None:
    """Where ``facenet_pytorch`` is installed, looked up once per process: the faces scorer asks
    for every photo (:func:`available`), and the search along ``sys.path`` cost 0.5 ms a photo."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def available() -> bool:
    """Whether both weight files are installed (their checksums are checked when first read)."""
    folder = weights_dir()
    return folder is not None and all((folder / name).is_file() for name in SHA256)


class _Storage:
    def __init__(self, dtype: str, key: str, numel: int) -> None:
        self.dtype, self.key, self.numel = dtype, key, numel


class _Tensor:
    def __init__(self, storage: _Storage, offset: int, size: tuple, stride: tuple) -> None:
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride


_DTYPES = {"FloatStorage": "<f4"}


class _Unpickler(pickle.Unpickler):
    """Reads a legacy ``torch.save`` state dict: only an OrderedDict of float32 tensors is allowed."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return lambda storage, offset, size, stride, *rest: _Tensor(
                storage, offset, size, stride
            )
        if module == "torch" and name in _DTYPES:
            return name
        raise pickle.UnpicklingError(f"unexpected {module}.{name} in a weights file")

    def persistent_load(self, pid: Any) -> _Storage:
        kind, dtype, key, _location, numel, _view = pid
        if kind != "storage" or dtype not in _DTYPES:
            raise pickle.UnpicklingError(f"unexpected storage {kind} {dtype}")
        return _Storage(dtype, key, int(numel))


def read_legacy_state_dict(data: bytes) -> dict[str, np.ndarray]:
    """The tensors of a state dict saved by ``torch.save`` in its legacy (non-zip) format."""
    stream = __import__("io").BytesIO(data)
    for _ in range(3):  # magic number, protocol version, system info
        pickle.load(stream)
    tensors = _Unpickler(stream).load()
    keys = pickle.load(stream)
    raw: dict[str, np.ndarray] = {}
    storages = {t.storage.key: t.storage for t in tensors.values()}
    for key in keys:
        count = int(np.frombuffer(stream.read(8), "<i8")[0])
        dtype = np.dtype(_DTYPES[storages[key].dtype])
        raw[key] = np.frombuffer(stream.read(count * dtype.itemsize), dtype)
    out = {}
    for name, t in tensors.items():
        flat = raw[t.storage.key]
        item = flat.itemsize
        out[name] = np.lib.stride_tricks.as_strided(
            flat[t.offset :], t.size, tuple(s * item for s in t.stride)
        ).copy()
    return out


def net(name: str) -> dict[str, np.ndarray]:
    """The weights of ``pnet`` or ``rnet``, read once per process and checked by SHA-256."""
    if name not in _NETS:
        folder = weights_dir()
        if folder is None:
            raise RuntimeError(f"the face candidate stage needs MTCNN's weights: `{INSTALL_HINT}`")
        data = (folder / f"{name}.pt").read_bytes()
        if hashlib.sha256(data).hexdigest() != SHA256[f"{name}.pt"]:
            raise RuntimeError(
                f"{folder / name}.pt is not the file culler knows; reinstall it: "
                f"`pip install --force-reinstall --no-deps facenet-pytorch`"
            )
        _NETS[name] = read_legacy_state_dict(data)
    return _NETS[name]


# A few lines of protobuf: the two networks are handed to OpenCV's DNN module as in-memory ONNX
# graphs (its convolutions are several times faster than NumPy's), without the onnx package.
def _varint(n: int) -> bytes:
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, value: bytes | str | int | float) -> bytes:
    if isinstance(value, float):
        return _varint(number << 3 | 5) + struct.pack("<f", value)
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    data = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _node(op: str, inputs: list[str], output: str, **attrs: int | list[int]) -> bytes:
    body = b"".join(_field(1, i) for i in inputs) + _field(2, output) + _field(4, op)
    for name, value in attrs.items():
        if isinstance(value, int):
            attr = _field(1, name) + _field(3, value) + _field(20, 2)
        else:
            attr = _field(1, name) + b"".join(_field(8, v) for v in value) + _field(20, 7)
        body += _field(5, attr)
    return body


def _tensor(name: str, array: np.ndarray) -> bytes:
    array = np.ascontiguousarray(array, "<f4")
    dims = b"".join(_field(1, int(d)) for d in array.shape)
    return dims + _field(2, 1) + _field(8, name) + _field(9, array.tobytes())


def _value(name: str, dims: list[str | int]) -> bytes:
    shape = b"".join(_field(1, _field(2, d) if isinstance(d, str) else _field(1, d)) for d in dims)
    return _field(1, name) + _field(2, _field(1, _field(1, 1) + _field(2, shape)))


def _graph(weights: dict[str, np.ndarray], layers: list[tuple], side: int | str = "h") -> Any:
    """An OpenCV DNN network of ``layers``, each reading the previous one's output, the last one
    the network's output: ("conv", name) / ("dense", name): a fully connected layer on the
    flattened input (ONNX's Flatten + Gemm) / ("prelu", name) / ("pool", k, s). ``side``: the
    input's height and width, a number where a dense layer needs it fixed."""
    nodes, inits, last, flat = [], [], "data", False
    for i, layer in enumerate(layers):
        out = f"t{i}"
        if layer[0] in ("conv", "dense"):
            w, b = f"{layer[1]}.weight", f"{layer[1]}.bias"
            inits += [_tensor(w, weights[w]), _tensor(b, weights[b])]
            if layer[0] == "conv":
                nodes.append(_node("Conv", [last, w, b], out))
            else:
                if not flat:
                    nodes.append(_node("Flatten", [last], f"{out}f", axis=1))
                    last, flat = f"{out}f", True
                nodes.append(_node("Gemm", [last, w, b], out, transB=1))
        elif layer[0] == "prelu":
            w = f"{layer[1]}.weight"
            slope = weights[w] if flat else weights[w].reshape(-1, 1, 1)
            inits.append(_tensor(w, slope))
            nodes.append(_node("PRelu", [last, w], out))
        else:
            k, s = layer[1], layer[2]
            nodes.append(
                _node("MaxPool", [last], out, kernel_shape=[k, k], strides=[s, s], ceil_mode=1)
            )
        last = out
    graph = (
        b"".join(_field(1, n) for n in nodes)
        + _field(2, "g")
        + b"".join(_field(5, t) for t in inits)
        + _field(11, _value("data", ["n", 3, side, "w" if side == "h" else side]))
        + _field(12, _value(last, ["n", "c"] if flat else ["n", "c", "a", "b"]))
    )
    model = _field(1, 7) + _field(8, _field(1, "") + _field(2, 11)) + _field(7, graph)
    return cv2.dnn.readNetFromONNX(np.frombuffer(model, np.uint8))


def _heads(weights: dict[str, np.ndarray], names: tuple[str, str]) -> dict[str, np.ndarray]:
    """The two output layers (face / not face, box offsets) as one "heads" layer: one run of a
    layer of 6 outputs instead of two of 2 and 4 (each of OpenCV's layer runs has its overhead)."""
    out = dict(weights)
    out["heads.weight"] = np.concatenate([weights[f"{n}.weight"] for n in names])
    out["heads.bias"] = np.concatenate([weights[f"{n}.bias"] for n in names])
    return out


def _pnet_graph(shape: tuple[int, ...]) -> Any:
    """P-Net for one input shape: OpenCV sets a network up again whenever its input's shape
    changes (tens of milliseconds, more than the run), so each mosaic shape met (one per photo
    size and orientation) keeps its own copy."""
    key = ("pnet", shape)
    if key in _DNN:
        _DNN[key] = _DNN.pop(key)  # most recently used last
    else:
        pnets = [k for k in _DNN if k[0] == "pnet"]
        if len(pnets) >= MAX_PNET_SHAPES:  # a folder of many photo sizes: drop the oldest
            del _DNN[pnets[0]]
        layers = [
            ("conv", "conv1"),
            ("prelu", "prelu1"),
            ("pool", 2, 2),
            ("conv", "conv2"),
            ("prelu", "prelu2"),
            ("conv", "conv3"),
            ("prelu", "prelu3"),
            ("conv", "heads"),
        ]
        _DNN[key] = _graph(_heads(net("pnet"), ("conv4_1", "conv4_2")), layers)
    return _DNN[key]


def _rnet_graph(batch: int = RNET_BATCH) -> Any:
    """R-Net for one batch size (a few of them: :func:`batches`)."""
    key = ("rnet", batch)
    if key not in _DNN:
        r = _heads(net("rnet"), ("dense5_1", "dense5_2"))
        # dense4 reads the 64 × 3 × 3 map flattened in (W, H, C) order (the converted Caffe
        # weights); ONNX's Flatten gives (C, H, W): the weights' columns are reordered to match.
        # As a Gemm it costs a tenth of the 3 × 3 convolution it could also be written as.
        r["dense4.weight"] = (
            r["dense4.weight"].reshape(128, 3, 3, 64).transpose(0, 3, 2, 1).reshape(128, 576)
        )
        layers = [
            ("conv", "conv1"),
            ("prelu", "prelu1"),
            ("pool", 3, 2),
            ("conv", "conv2"),
            ("prelu", "prelu2"),
            ("pool", 3, 2),
            ("conv", "conv3"),
            ("prelu", "prelu3"),
            ("dense", "dense4"),
            ("prelu", "prelu4"),
            ("dense", "heads"),
        ]
        _DNN[key] = _graph(r, layers, side=24)
    return _DNN[key]


def batches(count: int) -> list[int]:
    """Batch sizes that add up to ``count`` exactly: :data:`RNET_BATCH` while it fits, then
    powers of two (at most log2(RNET_BATCH) + 1 distinct sizes, so networks are set up once)."""
    sizes, size = [RNET_BATCH] * (count // RNET_BATCH), RNET_BATCH
    rest = count % RNET_BATCH
    while rest:
        size //= 2
        if rest >= size:
            sizes.append(size)
            rest -= size
    return sizes


_DNN: dict[Any, Any] = {}


def pnet(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P-Net on one normalised RGB image (H, W, 3): face probability (h, w) and box offsets (h, w, 4)
    for each 12 px window at a stride of 2."""
    blob = np.ascontiguousarray(image.transpose(2, 0, 1))[None]
    graph = _pnet_graph(blob.shape)
    graph.setInput(blob)
    out = graph.forward()[0]  # (6, h, w): face logits, then box offsets
    prob = 1.0 / (1.0 + np.exp(out[0] - out[1]))
    return prob, out[2:].transpose(1, 2, 0)


def rnet(crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """R-Net on normalised 24 × 24 RGB crops (N, 24, 24, 3): face probability (N,), offsets (N, 4)."""
    graph = _rnet_graph(len(crops))
    graph.setInput(np.ascontiguousarray(crops.transpose(0, 3, 1, 2)))
    out = graph.forward()  # (N, 6): face logits, then box offsets
    return 1.0 / (1.0 + np.exp(out[:, 0] - out[:, 1])), out[:, 2:]


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """Indices kept by non-maximum suppression (intersection over union above ``threshold``), most
    probable first (OpenCV's, in C++: P-Net proposes thousands of windows on a busy photo)."""
    if not len(boxes):
        return np.zeros(0, int)
    xywh = np.concatenate([boxes[:, :2], boxes[:, 2:4] - boxes[:, :2]], axis=1)
    keep = cv2.dnn.NMSBoxes(xywh.tolist(), scores.astype(float).tolist(), 0.0, threshold)
    return np.asarray(keep, int).reshape(-1)


def mosaic(width: int, height: int, min_face: float, factor: float = None) -> tuple:
    """The pyramid P-Net reads, packed into one image (one network run, one input shape per photo
    size: OpenCV sets a network up again for every new shape, which cost more than the run):
    ((canvas width, canvas height), [(scale, x, y, w, h), ...]) from the level where a face of
    ``min_face`` px is P-Net's 12 px down to 12 px. Level 0 on top; each smaller level in the
    highest, then leftmost, free space as wide as level 0 (guillotine packing: the space beside
    and below each level stays free), so a small level fills the corner a larger one left (P-Net's
    cost is its pixels: a 3:2 photo's canvas is 321 × 349 instead of 321 × 400). Levels sit on
    even offsets (P-Net's stride) with a gap between them."""
    factor = factor or FACTOR
    scale, levels = 12.0 / min_face, []
    while min(width, height) * scale >= 12:
        levels.append((scale, int(width * scale + 1), int(height * scale + 1)))
        scale *= factor
    if not levels:
        return (0, 0), []
    gap, tall = 4, 1 << 30

    def even(n: int) -> int:
        return n + n % 2

    free = [(0, 0, even(levels[0][1] + gap), tall)]  # (x, y, w, h): room for pixels and gap
    placed = []
    for scale, w, h in levels:
        fw, fh = even(w + gap), even(h + gap)
        rx, ry, rw, rh = min((r for r in free if r[2] >= w and r[3] >= h), key=lambda r: r[1::-1])
        free.remove((rx, ry, rw, rh))  # spaces are disjoint: no two levels share a pixel
        free += [(rx + fw, ry, max(0, rw - fw), min(fh, rh)), (rx, ry + fh, rw, max(0, rh - fh))]
        placed.append((scale, rx, ry, w, h))
    return (max(x + w for _, x, _, w, _ in placed), max(y + h for _, _, y, _, h in placed)), placed


def _square(boxes: np.ndarray) -> np.ndarray:
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    x0, y0 = boxes[:, 0] + (w - side) / 2, boxes[:, 1] + (h - side) / 2
    return np.stack([x0, y0, x0 + side, y0 + side], axis=1)


def _regress(boxes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    return boxes[:, :4] + offsets * np.stack([w, h, w, h], axis=1)


def propose(
    rgb: np.ndarray,
    min_face: float,
    pnet_threshold: float = PNET_THRESHOLD,
    rnet_threshold: float = RNET_THRESHOLD,
) -> list[tuple[tuple[float, float, float, float], float]]:
    """Places in ``rgb`` (H, W, 3 uint8) that may hold a face of ``min_face`` px or more, as
    ((x0, y0, x1, y1), R-Net probability), most probable first, at most :data:`MAX_RNET`."""
    h, w = rgb.shape[:2]
    (cw, ch), levels = mosaic(w, h, min_face)
    if not levels:
        return []
    norm = (rgb.astype(np.float32) - 127.5) * 0.0078125
    canvas = np.zeros((ch, cw, 3), np.float32)
    for scale, x, y, lw, lh in levels:
        if scale == 1.0 and (lw, lh) == (w + 1, h + 1):
            canvas[y : y + h, x : x + w] = norm
            continue
        mode = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        canvas[y : y + lh, x : x + lw] = cv2.resize(norm, (lw, lh), interpolation=mode)
    prob, reg = pnet(canvas)
    boxes, scores, offsets = [], [], []
    for scale, x, y, lw, lh in levels:
        # Windows wholly inside this level: P-Net's output cell (i, j) reads pixels 2i .. 2i + 11.
        gy0, gx0 = y // 2, x // 2
        gy1, gx1 = gy0 + max(0, (lh - 12) // 2 + 1), gx0 + max(0, (lw - 12) // 2 + 1)
        ys, xs = np.nonzero(prob[gy0:gy1, gx0:gx1] >= pnet_threshold)
        if not len(ys):
            continue
        cells = np.stack([xs, ys], 1).astype(np.float32)
        level_boxes = np.concatenate(
            [np.floor((2 * cells + 1) / scale), np.floor((2 * cells + 12) / scale)], axis=1
        )
        level_scores = prob[gy0 + ys, gx0 + xs]
        keep = nms(level_boxes, level_scores, PNET_LEVEL_NMS)
        boxes.append(level_boxes[keep])
        scores.append(level_scores[keep])
        offsets.append(reg[gy0 + ys, gx0 + xs][keep])
    if not boxes:
        return []
    all_boxes, all_scores = np.concatenate(boxes), np.concatenate(scores)
    keep = nms(all_boxes, all_scores, PNET_NMS)[:MAX_PNET]
    found = _square(_regress(all_boxes[keep], np.concatenate(offsets)[keep]))
    crops = np.empty((len(found), 24, 24, 3), np.float32)
    for i, (x0, y0, x1, y1) in enumerate(found):
        crops[i] = _crop(norm, x0, y0, x1, y1)
    # A few fixed batch sizes, for the same reason as the mosaic, and no padded rows.
    starts = np.cumsum([0] + batches(len(found)))
    parts = [rnet(crops[a:b]) for a, b in zip(starts[:-1], starts[1:])]
    prob_r = np.concatenate([p[0] for p in parts])
    off_r = np.concatenate([p[1] for p in parts])
    ok = prob_r >= rnet_threshold
    if not ok.any():
        return []
    found, prob_r = _square(_regress(found[ok], off_r[ok])), prob_r[ok]
    keep = nms(found, prob_r, 0.7)[:MAX_RNET]
    return [(tuple(float(v) for v in found[i]), float(prob_r[i])) for i in keep]  # type: ignore[misc]


def _crop(norm: np.ndarray, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """The box resized to 24 × 24, zero (mid-grey) outside the photo."""
    h, w = norm.shape[:2]
    ix0, iy0, ix1, iy1 = int(x0), int(y0), int(x1), int(y1)
    if ix0 >= 0 and iy0 >= 0 and ix1 <= w and iy1 <= h and ix1 > ix0 and iy1 > iy0:
        return cv2.resize(norm[iy0:iy1, ix0:ix1], (24, 24), interpolation=cv2.INTER_AREA)
    out = np.zeros((max(1, iy1 - iy0), max(1, ix1 - ix0), 3), np.float32)
    sx0, sy0, sx1, sy1 = max(0, ix0), max(0, iy0), min(w, ix1), min(h, iy1)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - iy0 : sy1 - iy0, sx0 - ix0 : sx1 - ix0] = norm[sy0:sy1, sx0:sx1]
    return cv2.resize(out, (24, 24), interpolation=cv2.INTER_AREA)
