"""A training recipe: the encoder, head settings and threshold rule a version is trained with.

`engage train --like NAME` starts from the recipe an existing version recorded in its model.json (the shipped
`engage-default`: the offline ELMo, the linear + lexical head, best-F1 threshold), so a newcomer gets the shipped
quality without knowing its flags; every flag given explicitly still wins (`Recipe.with_flags`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from engage import registry
from engage.config import default_encoder_handle
from engage.encoders.base import DEFAULT_MAX_TOKENS
from engage.head import HeadConfig
from engage.thresholds import DEFAULT_METHOD


@dataclass(frozen=True)
class Recipe:
    encoder: str                        # handle as load_encoder takes it (a URL or a folder)
    max_tokens: int = DEFAULT_MAX_TOKENS
    head: HeadConfig = field(default_factory=HeadConfig)
    threshold_method: str = DEFAULT_METHOD
    threshold_value: float | None = None
    like: str | None = None             # the version it was read from, if any
    finetune: bool = False              # fine-tune the encoder on the labels first (engage.encoders.bilm.finetune)

    @classmethod
    def default(cls) -> Recipe:
        """What `engage train` uses without --like: the configured ELMo and the seed's head."""
        return cls(encoder=default_encoder_handle())

    def with_flags(self, *, encoder: str | None = None, max_tokens: int | None = None, head: dict | None = None,
                   threshold_method: str | None = None, threshold_value: float | None = None) -> Recipe:
        """This recipe with each given (not None) setting replacing its own; head: HeadConfig fields. A threshold
        method given without a value does not inherit this recipe's value (another rule's target means nothing)."""
        if threshold_value is None and threshold_method is None:
            threshold_value = self.threshold_value
        return replace(self, encoder=encoder or self.encoder,
                       max_tokens=self.max_tokens if max_tokens is None else max_tokens,
                       head=replace(self.head, **(head or {})),
                       threshold_method=threshold_method or self.threshold_method, threshold_value=threshold_value)


def recipe_of(name: str, root: str | Path | None = None) -> Recipe:
    """The recipe version `name` was trained with (its files checked as at load; InputError naming what is wrong)."""
    version = registry.read_model(name, root)
    meta = version.meta
    source = str(version.path / "model.json")
    rule = meta.get("threshold") or {}
    # A fine-tuned version's recipe is its base encoder fine-tuned on the new labels, not its own tuned copy.
    tuned = (meta["encoder"].get("finetuned") or {}).get("base")
    return Recipe(encoder=registry.loadable_handle((tuned or meta["encoder"])["handle"], root),
                  max_tokens=int(meta["encoder"].get("max_tokens", DEFAULT_MAX_TOKENS)),
                  head=HeadConfig.from_json(meta["head"]["config"], source=source),
                  threshold_method=rule.get("method") or DEFAULT_METHOD, threshold_value=rule.get("target"),
                  like=version.name, finetune=tuned is not None)
