"""Imported once by the scan's worker fork server (``FacesScorer.worker_preload``): reads dlib's
detector, the eye landmark models (MediaPipe's two files, or dlib's 100 MB 68-point model where
they are not installed) and MTCNN's candidate weights there, so every decode worker forked from it shares one copy
instead of reading its own (about 1 s of CPU and 100 MB of memory per worker).

Importing this never fails: without dlib or the model file, the workers load (and report) what is
missing themselves, as they do without a fork server.
"""

from __future__ import annotations

try:
    from culler_plugins.faces import detect

    detect.detector()
    from culler_plugins.faces import mesh

    if mesh.available():  # the eyes' default landmarks: two small files (4 MB), checked here
        mesh.preload()
    else:  # dlib's 68 points, the fallback: 100 MB, about 1 s of CPU to read
        detect.predictor()
    # Not the 5-point and ResNet descriptor models (31 MB, 0.28 s CPU): a worker reads them at
    # its first face, so a shoot without people never pays for them (a people shoot pays once a
    # worker instead of once a scan: 0.28 s more a scan).
    from culler_plugins.faces import candidates

    if candidates.available():  # MTCNN's weights (checked by SHA-256): OpenCV's networks are
        candidates.net("pnet"), candidates.net("rnet")  # built per worker, at its first photo
except Exception:  # a failed preload only means each worker loads its own
    pass
