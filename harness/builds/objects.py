"""Builds share their artifacts by content: one copy on disk per sha256.

Every artifact file of a build is a hard link to ``<builds root>/.objects/<sha[:2]>/<sha256>``:
a subset build (``-w`` / ``-p``) or a rebuild of the same bytes costs no disk, each build folder
stays self-contained (its files are ordinary files inside it, so ``--build ID`` verifies their
sha256 as before and a manifest is valid on its own), and removing a build folder removes only
its links. ``gc`` removes the objects no build links any more (link count 1). A file edited in
place through one build would change every build that shares it: ``--build ID`` verifies each
artifact's sha256 before use, so such a build is refused, never measured.

Where hard links are not possible (another filesystem, a filesystem without them) the build
keeps its own copy and says nothing: sharing is an optimisation, never a condition.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from harness.builds.manifest import MANIFEST_NAME, Manifest, load_manifest, sha256_of
from harness.config.outputs import inside
from harness.errors import HarnessError

OBJECTS = ".objects"


def object_path(builds_root: Path, sha256: str) -> Path:
    return Path(builds_root) / OBJECTS / sha256[:2] / sha256


def artifacts(manifest: Manifest) -> Iterable[tuple[str, str, int]]:
    """(relative path, sha256, size) of every artifact a manifest lists."""
    for entry in manifest.workloads.values():
        for pe in entry.precisions.values():
            for art in pe.files.values():
                yield art.path, art.sha256, art.size


def _replace_with_link(target: Path, link: Path) -> bool:
    tmp = link.with_name(f".{link.name}.link-{os.getpid()}")
    try:
        tmp.unlink(missing_ok=True)
        os.link(target, tmp)
        os.replace(tmp, link)
    except OSError:
        tmp.unlink(missing_ok=True)
        return False
    return True


def share(builds_root: Path, file: Path, sha256: str, size: int) -> bool:
    """Make ``file`` (an artifact whose content is ``sha256``) one copy with every other build's:
    link it to the object of that content, or make it that object. True when shared."""
    obj = object_path(builds_root, sha256)
    try:
        st = obj.stat()
    except FileNotFoundError:
        st = None
    if st is not None and st.st_size == size:
        if os.path.samefile(obj, file):
            return True
        return _replace_with_link(obj, file)
    obj.parent.mkdir(parents=True, exist_ok=True)
    return _replace_with_link(file, obj)  # the first copy of this content becomes the object


def share_build(builds_root: Path, build_dir: Path, manifest: Manifest) -> int:
    """Link every artifact of a build (still in its staging folder) to the object store; returns
    how many are shared."""
    shared = 0
    for rel, sha, size in artifacts(manifest):
        path = Path(build_dir) / rel
        if inside(build_dir, path) and path.is_file() and share(builds_root, path, sha, size):
            shared += 1
    return shared


def link_from_store(builds_root: Path, sha256: str, size: int, dest: Path) -> bool:
    """Put the stored object of ``sha256`` at ``dest`` (a new build reusing it); False when the
    store has no such object."""
    obj = object_path(builds_root, sha256)
    try:
        if obj.stat().st_size != size:
            return False
    except FileNotFoundError:
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    return _replace_with_link(obj, dest)


def adopt(builds_root: Path) -> int:
    """Share the artifacts of build folders written before the store existed (or copied in):
    each file is verified against its manifest's sha256 first (a changed file is left alone:
    ``--build`` refuses it). Returns how many files became shared."""
    shared = 0
    for d in sorted(Path(builds_root).glob("*")):
        if d.name.startswith(".") or not (d / MANIFEST_NAME).is_file():
            continue
        try:
            man = load_manifest(d)
        except HarnessError:
            continue
        for rel, sha, size in artifacts(man):
            path = d / rel
            if not inside(d, path) or not path.is_file() or path.is_symlink() or path.stat().st_nlink > 1:
                continue
            if sha256_of(path) == sha and share(builds_root, path, sha, size):
                shared += 1
    return shared


@dataclass(frozen=True)
class Collected:
    removed: int
    bytes: int
    kept: int


def gc(builds_root: Path) -> Collected:
    """Remove the objects no build links any more (their only link is the store's own)."""
    root = Path(builds_root) / OBJECTS
    removed = freed = kept = 0
    if not root.is_dir():
        return Collected(0, 0, 0)
    for obj in sorted(root.glob("*/*")):
        if not obj.is_file() or obj.is_symlink() or obj.name.startswith("."):
            continue
        st = obj.stat()
        if st.st_nlink > 1:
            kept += 1
            continue
        obj.unlink()
        removed += 1
        freed += st.st_size
    for sub in root.iterdir():
        if sub.is_dir() and not any(sub.iterdir()):
            sub.rmdir()
    return Collected(removed, freed, kept)
