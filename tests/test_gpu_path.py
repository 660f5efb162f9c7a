"""The GPU path's decisions, tested without a GPU: the device is mocked at the selection boundary only
(does CUDA exist, does it have bf16, how much memory is free), everything above it runs for real."""

from __future__ import annotations

import contextlib
import threading

import numpy as np
import pytest
import torch
from PIL import Image

from culler import devices
from culler.imaging import gpu_decode
from culler.imaging.images import open_photo
from culler.plugin.scorers import Scorer, ScoreResult
from culler.scan.scoring import ModelScoring
from culler.scan.work import ActiveScorer
from culler.testing import sample_image


def test_reduced_precision_only_on_cuda(monkeypatch):
    assert devices.autocast_dtype("cpu") is None
    assert devices.autocast_dtype("mps") is None
    monkeypatch.setattr(devices, "_cuda_bf16_supported", lambda: True)
    assert devices.autocast_dtype("cuda") is torch.bfloat16
    assert devices.autocast_dtype("cuda:1") is torch.bfloat16
    monkeypatch.setattr(devices, "_cuda_bf16_supported", lambda: False)
    assert devices.autocast_dtype("cuda") is torch.float16  # pre-Ampere GPUs
    with devices.inference_autocast("cpu"):
        assert not torch.is_autocast_enabled()


def test_batches_grow_with_free_gpu_memory(monkeypatch):
    gib = 2**30
    assert devices.batch_size_for("cpu", 16, free_bytes=80 * gib) == 16
    assert devices.batch_size_for("cuda", 16, free_bytes=6 * gib) == 16
    assert devices.batch_size_for("cuda", 16, free_bytes=16 * gib) == 32
    assert devices.batch_size_for("cuda", 8, free_bytes=40 * gib) == 32
    assert devices.batch_size_for("cuda", 8, free_bytes=139 * gib) == 8 * devices.MAX_BATCH_SCALE
    monkeypatch.setattr(devices, "_cuda_free_bytes", lambda device: 64 * gib)
    assert devices.batch_size_for("cuda:0", 4) == 4 * devices.MAX_BATCH_SCALE


class _Greedy(Scorer):
    """A model scorer whose 'device' holds two images at a time; records where it ran."""

    id = "greedy"
    batch_size = 4
    input_size = 64
    calls: list[tuple[int, str, bool]] = []

    def score_batch(self, images):
        _Greedy.calls.append((len(images), threading.current_thread().name, _in_autocast()))
        if len(images) > 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return [ScoreResult(score=float(im.size[0] % 10)) for im in images]


_AUTOCAST = threading.local()


def _in_autocast() -> bool:
    return getattr(_AUTOCAST, "on", False)


class _RecordingAutocast:
    def __enter__(self):
        _AUTOCAST.on = True

    def __exit__(self, *exc):
        _AUTOCAST.on = False


def test_model_batches_run_in_autocast_and_split_when_out_of_memory(monkeypatch):
    monkeypatch.setattr(devices, "_cuda_free_bytes", lambda device: 20 * 2**30)
    monkeypatch.setattr(devices, "inference_autocast", lambda device: _RecordingAutocast())
    scorer = _Greedy()
    scorer.device = "cuda"
    active = ActiveScorer(scorer, pk=1)
    messages = []
    scoring = ModelScoring([active], batch_timeout=30.0, echo=messages.append)
    assert scoring._queues["greedy"].batch_size == 8  # 4, doubled for 20 GiB free
    _Greedy.calls = []
    for pid in range(10):
        scoring.add(pid, Image.new("RGB", (60 + pid, 40)), [active])
    batches = list(scoring.ready(final=True))
    scoring.close()
    scored = [r for b in batches for _, results in b.scores for r in results]
    assert [b.photo_ids for b in batches] == [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]
    assert [r.score for r in scored] == [float((60 + pid) % 10) for pid in range(10)]
    assert [n for n, _, _ in _Greedy.calls][:3] == [8, 4, 2]  # halved until it fits, then kept
    # The model ran in the scorer thread, inside autocast entered in that thread.
    assert all(name.startswith("culler-scorer") and on for _, name, on in _Greedy.calls)
    assert any("out of memory on cuda with a batch of 8; trying 4" in m for m in messages)


def test_one_photo_out_of_memory_is_an_error_not_a_loop(monkeypatch):
    monkeypatch.setattr(devices, "inference_autocast", lambda device: _RecordingAutocast())

    class Hopeless(_Greedy):
        id = "hopeless"

        def score_batch(self, images):
            raise torch.cuda.OutOfMemoryError("CUDA out of memory")

    scorer = Hopeless()
    scorer.device = "cuda"
    monkeypatch.setattr(devices, "_cuda_free_bytes", lambda device: 0)
    active = ActiveScorer(scorer, pk=1)
    scoring = ModelScoring([active], batch_timeout=None, echo=lambda m: None)
    for pid in range(3):
        scoring.add(pid, Image.new("RGB", (32, 32)), [active])
    batches = list(scoring.ready(final=True))
    results = [r for b in batches for _, rs in b.scores for r in rs]
    assert len(results) == 3 and all("out of memory on cuda" in r for r in results)


def test_gpu_decoding_needs_cuda(monkeypatch):
    assert not devices.gpu_jpeg_decoding("cpu")
    assert not devices.gpu_jpeg_decoding(None)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert not devices.gpu_jpeg_decoding("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert devices.gpu_jpeg_decoding("cuda")


@pytest.fixture
def mixed_files(tmp_path):
    photo = sample_image("astronaut")
    paths = []
    for i, ext in enumerate(("jpg", "png", "jpg")):
        path = tmp_path / f"p{i}.{ext}"
        photo.resize((300 + 50 * i, 200)).save(path)
        paths.append(str(path))
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff not really")
    return paths, str(tmp_path / "broken.jpg"), str(tmp_path / "gone.jpg")


def test_cpu_fallback_decodes_like_the_scan(mixed_files):
    paths, broken, gone = mixed_files
    decoder = gpu_decode.BatchDecoder("cpu", 128)
    assert not decoder.on_gpu
    batch = decoder.decode([*paths, broken, gone])
    for path, tensor in zip(paths, batch.images):
        expected = np.asarray(open_photo(path, 128)[0])
        assert np.array_equal(tensor.permute(1, 2, 0).numpy(), expected)
        assert np.array_equal(np.asarray(gpu_decode.to_pil(tensor)), expected)
    assert batch.images[3] is None and batch.errors[3]
    assert batch.images[4] is None and batch.errors[4].startswith("cannot read file")
    ordered = [p for b in decoder.batches([*paths, *paths], batch_size=2) for p in b.paths]
    assert ordered == [*paths, *paths]


def test_jpegs_go_to_the_gpu_and_the_rest_to_the_cpu(mixed_files, monkeypatch):
    """With CUDA (mocked), JPEG bytes are batch-decoded on the GPU; other formats, and files the
    GPU decoder refuses, fall back to the CPU path."""
    paths, broken, _ = mixed_files
    monkeypatch.setattr(devices, "gpu_jpeg_decoding", lambda device: True)
    sent = []

    def fake_gpu(self, datas):
        sent.append(len(datas))
        # nvJPEG's answer for the real JPEGs; None for the one it cannot decode
        return [
            torch.zeros(3, 8, 8, dtype=torch.uint8) if b"not really" not in d else None
            for d in datas
        ]

    monkeypatch.setattr(gpu_decode.BatchDecoder, "_gpu", fake_gpu)
    decoder = gpu_decode.BatchDecoder("cuda", 128)
    assert decoder.on_gpu
    batch = decoder.decode([*paths, broken])
    assert sent == [3]  # the two JPEGs and the broken one, in one batch; the PNG not
    assert batch.images[0].shape == (3, 8, 8) and batch.images[2].shape == (3, 8, 8)
    assert batch.images[1].shape[0] == 3 and batch.images[1].shape[1:] != (8, 8)  # PNG, on the CPU
    assert batch.images[3] is None and batch.errors[3]  # refused by both


def test_fit_tensor_matches_the_requested_side():
    image = torch.zeros(3, 4000, 6000, dtype=torch.uint8)
    assert tuple(gpu_decode.fit_tensor(image, 1024).shape) == (3, 683, 1024)
    small = torch.zeros(3, 100, 50, dtype=torch.uint8)
    assert gpu_decode.fit_tensor(small, 224) is small


def _no_cuda_streams(monkeypatch, fail: bool = False) -> list[str]:
    """Stand-ins for the CUDA stream and event calls of the reader thread; returns what was called."""
    calls: list[str] = []

    class Stream:
        def __init__(self, device):
            if fail:
                raise RuntimeError("CUDA error: no CUDA-capable device is detected")
            calls.append("stream")

        def wait_event(self, event):
            calls.append("wait")

    class Event:
        def record(self, stream):
            calls.append("record")

    monkeypatch.setattr(torch.cuda, "Stream", Stream)
    monkeypatch.setattr(torch.cuda, "Event", Event)
    monkeypatch.setattr(torch.cuda, "stream", lambda stream: contextlib.nullcontext())
    monkeypatch.setattr(torch.cuda, "current_stream", lambda device: Stream(device))
    return calls


def test_a_reader_that_cannot_start_raises_instead_of_hanging(mixed_files, monkeypatch):
    paths, _, _ = mixed_files
    monkeypatch.setattr(devices, "gpu_jpeg_decoding", lambda device: True)
    _no_cuda_streams(monkeypatch, fail=True)
    decoder = gpu_decode.BatchDecoder("cuda", 128)
    with pytest.raises(RuntimeError, match="no CUDA-capable device"):
        list(decoder.batches(paths, batch_size=2))


class _Brightness(Scorer):
    """A learned-style scorer (runs in the scan's process, like CLIP): the mean of its input."""

    id = "brightness"
    input_size = 96
    batch_size = 4
    role = "technical"

    def score_batch(self, images):
        return [ScoreResult(score=float(np.asarray(im, np.float32).mean()) / 25.5) for im in images]


class _BrightnessPlugin:
    from culler.plugin.hookspecs import hookimpl

    @hookimpl
    def register_scorers(self, register):
        register(_Brightness)


def _scores(catalog, scorer_id):
    rows = catalog.query(
        "SELECT p.path, s.score FROM scores s JOIN scorers r ON r.id = s.scorer_pk"
        " JOIN photos p ON p.id = s.photo_id WHERE r.scorer_id = ?",
        [scorer_id],
    )
    return {r["path"].rsplit("/", 1)[-1]: r["score"] for r in rows}


def test_a_learned_scorer_added_later_is_fed_from_the_gpu_decoder(
    tmp_path, monkeypatch, register_test_plugin
):
    """A catalog scanned before; a learned scorer added: with CUDA (mocked at the decode call), the
    unchanged JPEGs are decoded in batches by the GPU path, not by the decode workers, and score as
    they do from the CPU path. A PNG still goes to the pool."""
    from culler.scan import decode_pool
    from culler.testing import scan_into

    register_test_plugin(_BrightnessPlugin(), "brightness-test")
    folder = tmp_path / "shoot"
    folder.mkdir()
    for i, name in enumerate(("astronaut", "coffee", "chelsea", "rocket", "camera")):
        sample_image(name).convert("RGB").rotate(3 * i).save(folder / f"{name}.jpg", quality=90)
    sample_image("coffee").save(folder / "coffee-copy.png")
    cpu_db, gpu_db = tmp_path / "cpu.db", tmp_path / "gpu.db"
    for db in (cpu_db, gpu_db):
        scan_into(db, folder, ["technical"])[0].close()

    cpu, _ = scan_into(cpu_db, folder, ["brightness"])
    expected = _scores(cpu, "brightness")
    cpu.close()

    monkeypatch.setattr(devices, "gpu_jpeg_decoding", lambda device: True)
    sent: list[int] = []

    def nvjpeg_stand_in(self, datas):
        """torchvision's decode_jpeg on the CPU, as the GPU path calls it; refuses the rocket."""
        from torchvision.io import ImageReadMode, decode_jpeg

        sent.append(len(datas))
        out = []
        for data in datas:
            if len(data) == len((folder / "rocket.jpg").read_bytes()):
                out.append(None)
                continue
            tensor = decode_jpeg(torch.frombuffer(bytearray(data), dtype=torch.uint8),
                                 mode=ImageReadMode.RGB)  # fmt: skip
            out.append(gpu_decode.fit_tensor(tensor, self.side))
        return out

    monkeypatch.setattr(gpu_decode.BatchDecoder, "_gpu", nvjpeg_stand_in)
    streams = _no_cuda_streams(monkeypatch)
    pooled: list[str] = []
    real_decode_one = decode_pool.decode_one

    def counting_decode_one(job):
        pooled.append(job.path.rsplit("/", 1)[-1])
        return real_decode_one(job)

    monkeypatch.setattr(decode_pool, "decode_one", counting_decode_one)
    gpu, summary = scan_into(gpu_db, folder, ["brightness"])
    got = _scores(gpu, "brightness")
    gpu.close()

    assert sum(sent) == 5  # every JPEG went to the GPU decoder, in batches
    assert {"stream", "record", "wait"} <= set(streams)  # decoded on the reader's own stream
    # Only the PNG went to the decode pool; the JPEG nvJPEG refused was decoded by the GPU path's
    # own CPU fallback.
    assert pooled == ["coffee-copy.png"]
    assert summary["errors"] == 0 and got.keys() == expected.keys() and len(got) == 6
    assert summary["decoded"] == 6  # the GPU-fed photos count in the scan's images/s
    for name, score in expected.items():
        assert got[name] == pytest.approx(score, abs=0.05), name


def test_a_gpu_decoder_that_fails_hands_the_photos_to_the_cpu(
    tmp_path, monkeypatch, register_test_plugin
):
    """A driver that fails when the GPU path starts: the photos are decoded by the pool and scored,
    and the scan says what happened."""
    from culler.catalog import open_catalog
    from culler.scan import ScanOptions, scan_folders
    from culler.testing import scan_into

    register_test_plugin(_BrightnessPlugin(), "brightness-test")
    folder = tmp_path / "shoot"
    folder.mkdir()
    for name in ("astronaut", "coffee", "chelsea", "rocket"):
        sample_image(name).convert("RGB").save(folder / f"{name}.jpg", quality=90)
    db = tmp_path / "c.db"
    scan_into(db, folder, ["technical"])[0].close()
    monkeypatch.setattr(devices, "gpu_jpeg_decoding", lambda device: True)
    _no_cuda_streams(monkeypatch, fail=True)
    messages: list[str] = []
    catalog = open_catalog(db)
    summary = scan_folders(
        catalog, [folder], ScanOptions(scorer_ids=["brightness"], workers=0), echo=messages.append
    )
    scores = _scores(catalog, "brightness")
    catalog.close()
    assert summary["status"] == "finished" and summary["scorer_errors"] == {}
    assert sorted(scores) == ["astronaut.jpg", "chelsea.jpg", "coffee.jpg", "rocket.jpg"]
    assert all(0 < s <= 10 for s in scores.values())
    assert any(
        "failed (RuntimeError: CUDA error" in m and "4 photos are decoded on the CPU" in m
        for m in messages
    ), messages
