"""Source plugins and their registry.

A plugin is a sub-package of `loader.sources` that calls `register(type_name, source)`; every
sub-package is imported on first use, so adding a source touches nothing else.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from loader.sources.base import Sheet, Source, SourceConfig

_REGISTRY: dict[str, Source] = {}
# File sources by file-name ending, for the CLI and the demo.
FILE_SOURCE_BY_SUFFIX: dict[str, str] = {}


def register(type_name: str, source: Source, suffixes: tuple[str, ...] = ()) -> None:
    """Make a source known by its task `type`, and by the file endings it reads (if any)."""
    _REGISTRY[type_name] = source
    for suffix in suffixes:
        FILE_SOURCE_BY_SUFFIX[suffix] = type_name


@cache
def discover() -> dict[str, Source]:
    for mod in pkgutil.iter_modules(__path__):
        if mod.ispkg:
            importlib.import_module(f"{__name__}.{mod.name}")
    return dict(_REGISTRY)


def get_source(type_name: str) -> Source:
    sources = discover()
    if type_name not in sources:
        raise KeyError(f"unknown source type {type_name!r}; known: {sorted(sources)}")
    return sources[type_name]


def file_source_type(name: str) -> str | None:
    """The source type that reads a file with this name, or None."""
    discover()
    for suffix, source_type in FILE_SOURCE_BY_SUFFIX.items():
        if name.lower().endswith(suffix):
            return source_type
    return None


def config_models() -> list[type[SourceConfig]]:
    return [src.config_model for _, src in sorted(discover().items())]


__all__ = [
    "FILE_SOURCE_BY_SUFFIX",
    "Sheet",
    "Source",
    "SourceConfig",
    "config_models",
    "discover",
    "file_source_type",
    "get_source",
    "register",
]
