"""The head's weights on disk (Keras .weights.h5, never a pickle); its architecture is rebuilt from HeadConfig.

Loading refuses a file that does not fill the head exactly. Keras loads what matches and, for a layer it finds no
weights for, warns ("Skipping nested container ... Affected layers will retain their freshly-initialized weights")
and goes on: a head would then score with a layer at its random start. So the file's arrays are checked against
the head's weights before Keras reads them, and any warning of Keras's that it left something unloaded is a
refusal too, an InputError naming the file."""

from __future__ import annotations

import warnings
from collections import Counter
from pathlib import Path

import keras

from engage.errors import InputError
from engage.head.config import HeadConfig
from engage.head.model import build_head

# What Keras says when it leaves a weight as it was initialized instead of loading it.
_UNLOADED = ("freshly-initialized", "could not be loaded", "Skipping")


def save_head(model: keras.Model, path: str | Path) -> None:
    model.save_weights(str(path))


def load_head(config: HeadConfig, dim: int, path: str | Path) -> keras.Model:
    """The head config describes, with every weight from path; InputError naming path if the file does not fill
    every layer or holds weights this head does not have."""
    model = build_head(config, dim)
    _check_fills(model, Path(path))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model.load_weights(str(path))
        except ValueError as exc:
            raise InputError(f"the head's weights do not fit this head ({str(exc).splitlines()[0]})",
                             file=str(path)) from None
    for warning in caught:
        if any(sign in str(warning.message) for sign in _UNLOADED):
            raise InputError(f"the head's weights leave part of this head unloaded ({warning.message})",
                             file=str(path))
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return model


def _file_shapes(path: Path) -> Counter:
    import h5py

    # A file that is no HDF5 at all passed its checksum (engage.registry) and so was written broken by engage:
    # h5py's OSError stays a bug (exit 2, trace in the log), not an input the user could fix.
    shapes: Counter = Counter()
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, item: shapes.update([tuple(item.shape)])
                     if isinstance(item, h5py.Dataset) and name.startswith("layers/") else None)
    return shapes


def _check_fills(model: keras.Model, path: Path) -> None:
    """The file holds exactly one array per weight of the head, of its shape: none missing (a layer left at its
    random start), none over (a head of another kind, whose extra layers this one would silently ignore)."""
    wanted = Counter(tuple(int(d) for d in w.shape) for w in model.weights)
    held = _file_shapes(path)
    missing, extra = wanted - held, held - wanted
    if missing:
        raise InputError(f"the head's weights file fills {sum(wanted.values()) - sum(missing.values())} of this "
                         f"head's {sum(wanted.values())} weights; weights of shape "
                         f"{', '.join(map(str, sorted(missing)))} are not in it (a file of another head?)",
                         file=str(path))
    if extra:
        raise InputError(f"the head's weights file holds weights this head does not have (of shape "
                         f"{', '.join(map(str, sorted(extra)))}): it is a file of another head", file=str(path))
