"""Imported once by the scan's worker fork server (``FacesScorer.worker_preload``): reads dlib's
detector and 100 MB landmark model there, so every decode worker forked from it shares one copy
instead of reading its own (about 1 s of CPU and 100 MB of memory per worker).

Importing this never fails: without dlib or the model file, the workers load (and report) what is
missing themselves, as they do without a fork server.
"""

from __future__ import annotations

try:
    from culler_plugins.faces import detect

    detect.detector()
    detect.predictor()
    detect.descriptor_models()
except Exception:  # a failed preload only means each worker loads its own
    pass
