"""The scoring contract's column names: every scored table (CLI files, app downloads, Ray shards) is the input
columns plus these. A module of its own, with no imports, so that processes that only move scored rows (Ray's
shard writers, the Ray driver) can name them without loading TensorFlow through `engage.scoring`."""

SCORE_COL = "engage_score"
FLAG_COL = "engageable"
