"""Helpers shared by file-based sources."""

from __future__ import annotations

from pathlib import Path

from loader.exceptions import EmptySourceError, SourceNotFoundError


def read_file_bytes(path: Path) -> bytes:
    """Read a whole file; missing and empty files are permanent, named errors."""
    if not path.exists():
        raise SourceNotFoundError(f"{path}: file not found")
    if not path.is_file():
        raise SourceNotFoundError(f"{path}: not a regular file")
    data = path.read_bytes()
    if not data.strip():
        raise EmptySourceError(f"{path}: file is empty")
    return data
