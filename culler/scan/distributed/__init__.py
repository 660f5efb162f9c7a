"""A scan whose decoding and model scoring run on a cluster (``culler scan --ray``).

The driver keeps what must stay single: discovery, the plan, the catalog writer and the summary.
Only the decode pool and the model scoring are swapped, through :class:`culler.scan.pipeline.ScanBackend`,
for ones that run on Ray (:mod:`.ray_backend` for the decode tasks and the connection,
:mod:`.ray_models` for the model actors). Ray is an optional extra: nothing here imports it until
a backend is opened.
"""

from __future__ import annotations

from culler.scan.distributed.ray_backend import RayBackend, RayUnavailable, open_ray_backend

__all__ = ["RayBackend", "RayUnavailable", "open_ray_backend"]
