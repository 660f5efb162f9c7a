"""A colourfulness scorer: the example of a third-party culler plugin (see docs/plugins.md)."""

import numpy as np

from culler.api import Scorer, ScoreResult, hookimpl

__version__ = "0.1.0"


class Colourfulness(Scorer):
    """Hasler & Süsstrunk's colourfulness metric (2003), mapped to 0–10."""

    id = "colourfulness"  # stable: the catalog, CLI and JSON use it
    version = "1"  # bump when the output changes
    description = "How colourful a photo is (Hasler & Süsstrunk 2003); 0 is greyscale."
    input_size = 256  # culler decodes to about this size for you
    batch_size = 32
    runs_in_worker = True  # cheap numpy work: run inside the decode processes
    # An example, and a figure rather than a verdict: a colourful frame is not a better one. As a
    # "measure" it is listed, sorted and filtered on, but `culler cull` leaves it out of ranking
    # unless asked (`--weight colourfulness=1`); remove this line to make it an aesthetic opinion.
    role = "measure"

    def score_batch(self, images):
        results = []
        for im in images:
            a = np.asarray(im, dtype=np.float32)
            rg = a[..., 0] - a[..., 1]
            yb = 0.5 * (a[..., 0] + a[..., 1]) - a[..., 2]
            c = np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())
            score = min(10.0, float(c) / 15)
            results.append(ScoreResult(score=score, reasons=[f"colourfulness {c:.0f}"]))
        return results


@hookimpl
def register_scorers(register):
    register(Colourfulness)
