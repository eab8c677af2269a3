"""Output paths a user names (``--out``, ``--json``, ``--report-dir``) and removal inside a root.

Checked before any work is done, so ``export -o /`` or ``publish --out FILE`` is a clear error
instead of a traceback after minutes of work; and nothing is ever removed outside the folder
it belongs to (a build under the builds folder, never the folder itself or anything above).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from harness.errors import HarnessError


def _make_parent(folder: Path, what: str, path: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise HarnessError(f"{what} {path}: {folder} exists and is not a folder") from None
    except OSError as exc:
        raise HarnessError(f"{what} {path}: cannot create folder {folder}: {exc.strerror or exc}") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise HarnessError(f"{what} {path}: folder {folder} is not writable")


def output_file(path: Path | str, what: str) -> Path:
    """A file path we may write: not a folder, its folder exists (created) and is writable."""
    path = Path(path)
    if path.is_dir():
        raise HarnessError(f"{what} {path}: is a folder; expected a file path")
    if str(path) == "" or path.name in ("", ".", ".."):
        raise HarnessError(f"{what} {str(path)!r}: expected a file path")
    if path.exists() and not path.is_file():
        raise HarnessError(f"{what} {path}: exists and is not a regular file")
    _make_parent(path.parent if str(path.parent) else Path("."), what, path)
    if path.exists() and not os.access(path, os.W_OK):
        raise HarnessError(f"{what} {path}: is not writable")
    return path


def output_dir(path: Path | str, what: str) -> Path:
    """A folder we may write into: created when missing; an existing file is an error."""
    path = Path(path)
    if str(path) == "":
        raise HarnessError(f"{what} '': expected a folder path")
    if path.exists() and not path.is_dir():
        raise HarnessError(f"{what} {path}: is a file; expected a folder")
    _make_parent(path, what, path)
    return path


def inside(root: Path | str, path: Path | str) -> bool:
    """True when ``path`` (symlinks resolved) lies strictly below ``root``."""
    r, p = Path(root).resolve(), Path(path).resolve()
    return p != r and p.is_relative_to(r)


def remove_within(root: Path | str, path: Path | str) -> None:
    """Remove ``path`` (a folder or file), refusing anything that is not strictly below ``root``."""
    if not inside(root, path):
        raise HarnessError(f"refusing to remove {path}: it is not inside {root}")
    p = Path(path)
    if p.is_symlink() or p.is_file():
        p.unlink()
    elif p.exists():
        shutil.rmtree(p)
