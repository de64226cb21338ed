"""The package's public names: every name in engage.reading.__all__ imports, so callers never change."""

from __future__ import annotations

import importlib

import engage.reading


def test_every_public_name_imports():
    module = importlib.import_module("engage.reading")
    assert module.__all__
    for name in module.__all__:
        assert getattr(module, name) is not None, name
    namespace: dict = {}
    exec(f"from engage.reading import {', '.join(engage.reading.__all__)}", namespace)
    assert set(engage.reading.__all__) <= set(namespace)


def test_names_callers_use_are_public():
    # grep of engage/, tests/ and bench/ at the split: these are the names imported from engage.reading
    used = {"SUPPORTED_SUFFIXES", "Messages", "detect_label_column", "detect_text_column", "iter_messages",
            "messages_from_table", "normalize_labels", "read_messages", "read_table"}
    assert used <= set(engage.reading.__all__)
