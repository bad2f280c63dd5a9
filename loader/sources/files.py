"""Helpers shared by file-based sources."""

from __future__ import annotations

from pathlib import Path

from loader.exceptions import EmptySourceError, SourceNotFoundError
from loader.sources.limits import check_path

HEAD_CHUNK = 256 * 1024


def read_file_bytes(path: Path, max_lines: int | None = None) -> bytes:
    """Read a file, or only its first `max_lines` lines (cut at a line end); missing and empty
    files are permanent, named errors."""
    resolved = checked_file(path)
    data = resolved.read_bytes() if max_lines is None else _head(resolved, max_lines)
    if not data.strip():
        raise EmptySourceError(f"{path}: file is empty")
    return data


def checked_file(path: Path) -> Path:
    """The file, resolved: inside files_root, not over max_file_mb, present and regular."""
    resolved = check_path(path)
    if not resolved.exists():
        raise SourceNotFoundError(f"{path}: file not found")
    if not resolved.is_file():
        raise SourceNotFoundError(f"{path}: not a regular file")
    return resolved


def _head(path: Path, max_lines: int) -> bytes:
    chunks: list[bytes] = []
    lines = 0
    with path.open("rb") as fh:
        while lines <= max_lines:
            chunk = fh.read(HEAD_CHUNK)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            lines += chunk.count(b"\n")
    data = b"".join(chunks)
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16/32: a byte cut could split a character
        return path.read_bytes()
    end = -1
    for _ in range(max_lines):
        end = data.find(b"\n", end + 1)
        if end < 0:
            return data
    return data[: end + 1]
