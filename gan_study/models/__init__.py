"""The model registry: one module per GAN variant, looked up by its config name.

A variant module defines a `GanVariant` subclass and registers the class with `@register`. The
training loop, sampler and evaluators only talk to this interface, so adding a variant is one
module here plus its section under `models:` in the config and the schema (docs/layout.md).
"""

import importlib
import pkgutil

from .base import GanVariant

_REGISTRY = {}
# Every module of this package but the interface registers variants: a new module is found without a list to edit.
_MODULES = tuple(m.name for m in pkgutil.iter_modules(__path__) if m.name != "base")


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


def variant_names():
    """Every registered variant's config name (the schema's `runs[].model` values)."""
    variant_class(next(iter(_REGISTRY), "mlp_gan"))  # imports every variant module
    return sorted(_REGISTRY)


def get_variant(name, cfg):
    """The variant configured with `cfg`, its section of the config (`config["models"][name]`)."""
    return variant_class(name)(cfg)


__all__ = ["GanVariant", "get_variant", "register", "variant_class", "variant_names"]
