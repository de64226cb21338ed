"""The official ELMo weight files (options.json + weights.hdf5, bilm-tf layout) in and out of a BiLM.

Every array is checked against the options before anything is assigned: a missing or mis-shaped one is an
InputError naming the file, the array and the expected vs found shape.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from engage.encoders.bilm.model import BiLM, parse_options
from engage.errors import InputError

OPTIONS_FILE = "options.json"
WEIGHTS_FILE = "weights.hdf5"


class _Slot:
    """One hdf5 array and the part of a variable it fills: variable[index] reshaped to the file's shape."""

    def __init__(self, variable: Any, shape: tuple[int, ...], index: Any = ...,
                 to_var: Callable[[np.ndarray], np.ndarray] = lambda a: a) -> None:
        self.variable, self.shape, self.index, self.to_var = variable, shape, index, to_var


def _slots(bilm: BiLM) -> dict[str, _Slot]:
    o = bilm.opts
    slots: dict[str, _Slot] = {
        # The file has no row for id 0 (padding): it is prepended as zeros.
        "char_embed": _Slot(bilm.char_embed, (bilm.char_embed.shape[0] - 1, o.char_dim), slice(1, None)),
    }
    for i, (width, num) in enumerate(o.filters):
        slots[f"CNN/W_cnn_{i}"] = _Slot(bilm.cnn_w[i], (1, width, o.char_dim, num), to_var=lambda a: a[0])
        slots[f"CNN/b_cnn_{i}"] = _Slot(bilm.cnn_b[i], (num,))
    f = o.n_filters
    for k, (w_carry, b_carry, w_tr, b_tr) in enumerate(bilm.highway):
        slots[f"CNN_high_{k}/W_carry"] = _Slot(w_carry, (f, f))
        slots[f"CNN_high_{k}/b_carry"] = _Slot(b_carry, (f,))
        slots[f"CNN_high_{k}/W_transform"] = _Slot(w_tr, (f, f))
        slots[f"CNN_high_{k}/b_transform"] = _Slot(b_tr, (f,))
    if bilm.proj_w is not None:
        slots["CNN_proj/W_proj"] = _Slot(bilm.proj_w, (f, o.projection_dim))
        slots["CNN_proj/b_proj"] = _Slot(bilm.proj_b, (o.projection_dim,))
    p, d = o.projection_dim, o.dim
    for layer in range(o.n_layers):
        for direction in range(2):
            cell = f"RNN_{direction}/RNN/MultiRNNCell/Cell{layer}/LSTMCell"
            slots[f"{cell}/W_0"] = _Slot(bilm.lstm_w[layer], (2 * p, 4 * d), direction)
            slots[f"{cell}/B"] = _Slot(bilm.lstm_b[layer], (4 * d,), direction)
            slots[f"{cell}/W_P_0"] = _Slot(bilm.lstm_p[layer], (d, p), direction)
    return slots


def expected_shapes(bilm: BiLM) -> dict[str, tuple[int, ...]]:
    """hdf5 array name -> shape, for this model's options."""
    return {name: slot.shape for name, slot in _slots(bilm).items()}


def load_weights_hdf5(bilm: BiLM, path: str | Path) -> None:
    """Fill `bilm` from an official weights.hdf5 (all arrays checked first, then assigned)."""
    path = Path(path)
    slots = _slots(bilm)
    values: dict[str, np.ndarray] = {}
    try:
        with h5py.File(path, "r") as fin:
            for name, slot in slots.items():
                found = fin.get(name)
                if not isinstance(found, h5py.Dataset):
                    raise InputError(f"weights: array '{name}' is missing (expected shape {slot.shape})",
                                     file=str(path))
                if tuple(found.shape) != slot.shape:
                    raise InputError(f"weights: array '{name}' has shape {tuple(found.shape)}, expected "
                                     f"{slot.shape} from the options", file=str(path))
                values[name] = np.asarray(found[...], dtype=np.float32)
    except OSError as exc:
        raise InputError(f"weights: cannot read as HDF5 ({exc})", file=str(path)) from None
    _assign(slots, values)


def _assign(slots: dict[str, _Slot], values: dict[str, np.ndarray]) -> None:
    # Several file arrays can fill one variable (directions, the padding row): build each variable whole.
    full: dict[int, tuple[Any, np.ndarray]] = {}
    for name, slot in slots.items():
        var = slot.variable
        if id(var) not in full:
            full[id(var)] = (var, np.zeros(var.shape, dtype=np.float32))
        full[id(var)][1][slot.index] = slot.to_var(values[name])
    for var, value in full.values():
        var.assign(value)


def save_weights_hdf5(bilm: BiLM, path: str | Path) -> None:
    """Write `bilm` in the official layout (loadable by bilm-tf / AllenNLP and by load_weights_hdf5)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with h5py.File(tmp, "w") as fout:
        for name, slot in _slots(bilm).items():
            value = np.asarray(slot.variable.numpy()[slot.index], dtype=np.float32).reshape(slot.shape)
            fout.create_dataset(name, data=value)
    tmp.replace(path)  # never leave a half-written weights file under the real name


def read_options(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        options = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"options: cannot read ({exc.strerror or exc})", file=str(path)) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"options: not valid JSON (line {exc.lineno}: {exc.msg})", file=str(path)) from None
    if not isinstance(options, dict):
        raise InputError("options: expected a JSON object", file=str(path))
    parse_options(options, file=str(path))  # fail here, naming the file, rather than later
    return options


def load_bilm_files(options_path: str | Path, weights_path: str | Path) -> BiLM:
    bilm = BiLM(read_options(options_path), seed=None)
    load_weights_hdf5(bilm, weights_path)
    return bilm


def load_bilm(folder: str | Path) -> BiLM:
    """A folder holding options.json + weights.hdf5."""
    folder = Path(folder)
    return load_bilm_files(folder / OPTIONS_FILE, folder / WEIGHTS_FILE)


def random_bilm(options: dict[str, Any], seed: int) -> BiLM:
    """Random weights of the real shapes (the original's initializers), reproducible from the seed."""
    return BiLM(options, seed=seed)


def save_bilm(bilm: BiLM, folder: str | Path, options: dict[str, Any] | None = None) -> None:
    """options.json + weights.hdf5 into `folder` (options default to those the model was built from)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    opts = options if options is not None else bilm.options_dict
    if opts is None:
        raise ValueError("save_bilm needs the options dict the model was built from")
    (folder / OPTIONS_FILE).write_text(json.dumps(opts, indent=1), encoding="utf-8")
    save_weights_hdf5(bilm, folder / WEIGHTS_FILE)
