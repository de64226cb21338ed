"""User-supplied names (annotator, file, column and set names) inside the Markdown that captions, messages,
expander and button labels render: shown as the text they are, never as Markdown (an annotator named
`![x](http://host/img.png)` must not make other people's browsers load an image)."""

from __future__ import annotations

import re

_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character: CommonMark escapes them all
_BREAKS = re.compile(r"[\r\n\t\v\f]+")


def plain(value: object) -> str:
    """`value` as text inside Markdown: each ASCII punctuation character backslash-escaped (no link, image,
    emphasis, code, heading, :material/icon:, :color[...], $math$ or autolink can start), line breaks as spaces."""
    return _PUNCTUATION.sub(r"\\\1", _BREAKS.sub(" ", str(value)))
