"""When two messages are the same message: equal after normalization."""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata

_SPACE = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """Unicode NFKC, whitespace runs to one space, stripped, casefolded: 'Ｈｉ  THERE ' == 'hi there'."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip().casefold()


def text_hash(text: str) -> str:
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()


def as_text(value: object) -> str:
    """A cell as message text: missing values (None, NaN, pandas NA) are empty."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    try:
        if value != value:  # pandas NA / NaT compare unequal to themselves (or raise)
            return ""
    except TypeError:
        return ""
    return value if isinstance(value, str) else str(value)
