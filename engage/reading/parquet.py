"""Parquet files: read whole (uploads) or streamed in record batches; a damaged file is one clear error."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from engage.errors import InputError


def _parquet_error(exc: Exception, name: str) -> InputError:
    return InputError(f"cannot read this Parquet file, is it damaged? ({type(exc).__name__}: {exc})",
                      file=name)


def read_parquet(data: bytes, name: str, suffix: str) -> pd.DataFrame:
    """The whole file; pyarrow is imported here so that reading CSV never pays for it."""
    import pyarrow as pa

    try:
        return pd.read_parquet(io.BytesIO(data))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise _parquet_error(exc, name) from exc


def iter_parquet(path: Path, name: str, chunk_size: int) -> Iterator[pd.DataFrame]:
    """The file in record batches of chunk_size rows, with bounded memory."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        batches = pq.ParquetFile(path).iter_batches(batch_size=chunk_size)
        for batch in batches:
            yield batch.to_pandas()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise _parquet_error(exc, name) from exc
