"""The model registry: one module per GAN variant, looked up by its config name.

A variant module defines a `GanVariant` subclass and registers the class with `@register`. The
training loop, sampler and evaluators only talk to this interface, so adding a variant is one
module here plus one entry under `models:` in the config (and its schema).
"""

import importlib

from .base import GanVariant

_REGISTRY = {}
_MODULES = ("mlp_gan", "cgan", "dcgan", "wgan")


def register(cls):
    """Class decorator: make `cls` available as `variant_class(cls.name)` and `get_variant(cls.name, cfg)`."""
    _REGISTRY[cls.name] = cls
    return cls


def variant_class(name):
    """The variant's class: what it declares (title, published row, update orders, …) without a config."""
    for module in _MODULES:
        importlib.import_module(f"{__name__}.{module}")
    if name not in _REGISTRY:
        from ..errors import GanStudyError

        raise GanStudyError(f"unknown model '{name}'; known models: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def get_variant(name, cfg):
    """The variant configured with `cfg`, its section of the config (`config["models"][name]`)."""
    return variant_class(name)(cfg)


__all__ = ["GanVariant", "get_variant", "register", "variant_class"]
