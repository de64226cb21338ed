"""Scoring on a Ray cluster (`engage score IN... --out OUT --engine ray`).

One idea per module: `plan` (which files, and the reading decision made once on the first file), `bundle` (a
model version packed for workers that do not share the driver's disk), `scorer` (the stateful actor that loads the
model once and scores batches), `sink` (shards and the manifest written last), `job` (connecting to Ray, the
pipeline, progress, errors). Ray is imported only inside `job`, `scorer` and `sink`, so nothing else pays for it.
"""

from __future__ import annotations

from engage.distributed.job import RayJob, score_on_ray

__all__ = ["RayJob", "score_on_ray"]
