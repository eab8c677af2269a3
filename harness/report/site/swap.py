"""Publish a site into a fresh folder and swap it in whole at the end.

A publish killed half-way (SIGKILL, a full disk, a crash) must leave the old site as it was,
never a mix of old and new pages. Pages are written into ``.<name>.new-*`` beside the site;
at the end the two folders are exchanged in one ``renameat2(RENAME_EXCHANGE)`` where Linux has
it, else with two renames (the old site parked as ``.<name>.old-*`` for the instant between
them; the next publish puts it back if a kill landed exactly there). The staging folder starts
as a copy of the old site, so what other steps wrote there (the farm-health pages of ``harness
nightly``) and the pages publish reuses (a finished run's page) carry over; copies, not links, so
nothing written into the stage can change a file of the live site.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.config.outputs import output_dir

STALE_STAGE_S = 6 * 3600.0  # a staging folder this old belongs to a publish that died, wherever it ran
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2); False where the system cannot."""
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    rc = fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _siblings(out: Path, kind: str) -> list[Path]:
    return sorted(out.parent.glob(f".{out.name}.{kind}-*"), key=lambda p: p.stat().st_mtime)


def _recover(out: Path) -> None:
    """Undo what a killed publish left: a parked old site comes back, stale stages go."""
    parked = _siblings(out, "old")
    if not out.exists() and parked:
        os.rename(parked.pop(), out)
    for p in parked:
        shutil.rmtree(p, ignore_errors=True)
    for p in _siblings(out, "new"):
        if not _alive(_stage_pid(p)) or time.time() - p.stat().st_mtime > STALE_STAGE_S:
            shutil.rmtree(p, ignore_errors=True)


def _stage_pid(stage: Path) -> int | None:
    """The pid in ``.<name>.new-<host>-<pid>-<random>`` when the stage was made on this host."""
    parts = stage.name.rsplit("-", 3)
    if len(parts) == 4 and parts[1] == socket.gethostname().replace("-", "_") and parts[2].isdigit():
        return int(parts[2])
    return None


def _alive(pid: int | None) -> bool:
    if pid is None:
        return True  # another host's (a shared folder): left to the age rule
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _swap_in(stage: Path, out: Path) -> None:
    if not out.exists():
        os.rename(stage, out)
        return
    if _exchange(stage, out):
        shutil.rmtree(stage, ignore_errors=True)  # it now holds the old site
        return
    parked = out.parent / f".{out.name}.old-{os.getpid()}"
    os.rename(out, parked)
    os.rename(stage, out)
    shutil.rmtree(parked, ignore_errors=True)


@contextmanager
def fresh_site(out: Path) -> Iterator[Path]:
    """Yield an empty staging folder beside ``out``; on success it becomes ``out`` in one step."""
    out = Path(out)
    if out.is_symlink():  # a served path pointing at the real folder: swap the real folder
        out = out.resolve()
    out = out.absolute()
    if out.exists() and not out.is_dir():
        output_dir(out, "site folder")  # the clear error for a file in the way
    output_dir(out.parent, "site folder's parent")
    _recover(out)  # before anything creates `out`: a parked old site must come back first
    output_dir(out, "site folder")
    host = socket.gethostname().replace("-", "_")
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-{host}-{os.getpid()}-", dir=out.parent))
    try:
        shutil.copytree(out, stage, symlinks=True, dirs_exist_ok=True)
        yield stage  # (copytree gave it the old folder's mode: mkdtemp's 0700 is gone)
        _swap_in(stage, out)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
