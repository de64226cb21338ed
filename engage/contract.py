"""The scoring contract's column names: every scored table (CLI files, app downloads, Ray shards) is the input
columns plus these. A module of its own, with no heavy imports, so that processes that only move scored rows (Ray's
shard writers, the Ray driver) can name them without loading TensorFlow through `engage.scoring`."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

SCORE_COL = "engage_score"
FLAG_COL = "engageable"


# What every way of scoring (the Score page, `engage score`, the Ray engine, the HTTP service) hands to the scoring
# history (engage/monitor/): one batch of messages scored by one model version. Plain values only, so it can cross
# a thread or process boundary without TensorFlow.


@dataclass(frozen=True)
class ScoredBatch:
    source: str                      # where the messages came from: "app", "cli", "ray", "service" or a named source
    model: str                       # model version name that scored them
    texts: list[str]
    scores: Any                      # numpy float array, probability of engageable per text
    flagged: Any                     # numpy bool array, at the threshold in force
    times: list[datetime] | None = None   # each message's own time (tz-aware), None: the scoring time
    batch_key: str | None = None     # e.g. the file's sha256: the same key with the same model is recorded once
    columns: dict[str, list] | None = None  # other columns to split by (channel, brand, ...), same length as texts
