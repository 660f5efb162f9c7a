"""A third-party plugin exactly as one was written against culler.api before culler/ became packages
(issue 27). Kept unchanged: tests/test_layers.py loads it to prove the plugin API did not move.
Do not edit it to follow a refactor — a change here means plugins in the wild break."""

from __future__ import annotations

import numpy as np

from culler.api import Scorer, ScoreResult, hookimpl


class SharpnessMeter(Scorer):
    id = "sharpness-meter"
    version = "1.0"
    kind = "score"
    input_size = 128
    batch_size = 4

    def load(self, device):
        self.device = device

    def score_batch(self, images):
        results = []
        for image in images:
            grey = np.asarray(image.convert("L"), dtype=np.float32)
            energy = float(np.abs(np.diff(grey, axis=1)).mean())
            results.append(
                ScoreResult(
                    score=min(10.0, energy / 3.0),
                    reasons=[f"edge energy {energy:.1f}"],
                    tags={"crisp": 1.0 if energy > 6 else 0.0},
                )
            )
        return results


@hookimpl
def register_scorers(register):
    register(SharpnessMeter)


@hookimpl
def register_migrations(migrations):
    @migrations("sharpness_meter_001_notes")
    def notes(db):
        db.execute("CREATE TABLE IF NOT EXISTS sharpness_meter_notes (photo_id INTEGER, note TEXT)")


SEEN: list[tuple[str, int]] = []


@hookimpl
def photos_scored(db, scorer_id, photo_ids):
    SEEN.append((scorer_id, len(photo_ids)))
