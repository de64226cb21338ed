"""Pick the encoder a handle names: a folder with options.json + weights.hdf5 is our biLM; anything else is
TensorFlow Hub (URL, cached module or local folder)."""

from __future__ import annotations

from pathlib import Path

from engage.encoders.base import DEFAULT_MAX_TOKENS, Encoder

__all__ = ["DEFAULT_MAX_TOKENS", "Encoder", "is_bilm_folder", "load_encoder"]


def is_bilm_folder(handle: str) -> bool:
    p = Path(handle)
    return p.is_dir() and (p / "options.json").is_file() and (p / "weights.hdf5").is_file()


def load_encoder(handle: str, max_tokens: int = DEFAULT_MAX_TOKENS) -> Encoder:
    if is_bilm_folder(handle):
        from engage.encoders.bilm.encoder import BilmEncoder

        return BilmEncoder(handle, max_tokens=max_tokens)
    from engage.encoders.hub import HubEncoder

    return HubEncoder(handle, max_tokens=max_tokens)
