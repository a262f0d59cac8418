"""Reading the harness's TOML files (suites, studies, method settings) strictly: one-line errors that
name the file and the dotted key.

Why a module: the suite parser, the study reader and the method-settings loader each opened a file,
turned a missing file or malformed TOML into a one-line :class:`UserError`, and formatted key errors
the same way; they now share these two pieces.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from hyperion_bench.errors import UserError


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """The parsed file; a missing file (``"<what> <path> does not exist"``) or malformed TOML is one line."""
    if not path.exists():
        raise UserError(f"{what} {path} does not exist")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text (byte {exc.start}): is it the TOML file you meant?") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: malformed TOML: {exc}") from None
    except IsADirectoryError:
        raise UserError(f"{what} {path} is a folder, not a file") from None


def named_file(name_or_path: str | Path, folder: Path, kind: str, kinds: str) -> Path:
    """A TOML file given by path (``*.toml``) or by name (``<folder>/<name>.toml``); an unknown name is one
    line listing the known ones (``unknown suite 'x'; known suites: ...``)."""
    path = Path(name_or_path)
    if path.suffix == ".toml":
        return path
    path = folder / f"{name_or_path}.toml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in folder.glob("*.toml")))
        raise UserError(f"unknown {kind} {str(name_or_path)!r}; known {kinds}: {known}")
    return path


class TomlReader:
    """Base of the strict readers: ``fail(key, msg)`` is the one-line error for the dotted ``key``."""

    def __init__(self, path: Path, raw: dict[str, Any]):
        self.path, self.raw = path, raw

    def fail(self, key: str, msg: str) -> UserError:
        return UserError(f"{self.path}: {key}: {msg}")
