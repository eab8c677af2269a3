"""llama.cpp's own ``llama-bench``, built in seconds against the same prebuilt libraries the LLM runner
links, so that harness's pp/tg numbers can be checked against the field's tool on the same llama.cpp.

llama-bench needs llama.cpp's ``common`` library, and its source must be the one the libraries were
built from (the llama-cpp-python sdist vendors a newer llama.cpp whose ``llama-bench.cpp`` calls
``llama_batch_ext_*`` / ``llama_process``, which the npm ``libllama`` 0.5.0 does not export). Both
come from node-llama-cpp itself:

- ``@node-llama-cpp/linux-<arch>`` 3.22.1 carries ``libllama-common.so`` (the ``common`` library,
  prebuilt) beside ``libllama`` / ``libggml*`` (the LLM runner's parts leave it out);
- ``node-llama-cpp`` 3.22.1 carries ``llama/gitRelease.bundle``: a git bundle of the llama.cpp release
  (``llama/llama.cpp.info.json``: tag v0.5.0) those libraries were built from.

One C++ file (``tools/llama-bench/llama-bench.cpp`` + ``main.cpp``) is compiled with the bundle's
``common/`` and ``include/`` headers and linked against the prebuilt libraries: ~15 s, no CMake. The
binary sits in the library folder (llama-bench loads the CPU backends from its own directory) with
``$ORIGIN`` as its rpath, cached under the runner parts cache with the sha256 of every download.
"""

from __future__ import annotations

import json
import platform
import shutil
import tarfile
import tempfile
from pathlib import Path

from harness.builds.manifest import sha256_of
from harness.builds.runner.llama_parts import NPM_PLATFORM, NPM_VERSION
from harness.builds.runner.parts import INSTALL_HINT, _publish, parts_cache, run_tool
from harness.errors import HarnessError

NPM_SOURCE_PACKAGE = "node-llama-cpp"
BUNDLE_IN_PACKAGE = "package/llama/gitRelease.bundle"
INFO_IN_PACKAGE = "package/llama/llama.cpp.info.json"
#: linked in this order: llama-bench.cpp calls common_*, llama_* and ggml_* directly
LINK = ("libllama-common.so", "libllama.v0.5.0.so", "libggml.v0.5.0.so", "libggml-base.so")
BINARY = "llama-bench"


def _npm_pack(spec: str, dest: Path) -> Path:
    if shutil.which("npm") is None:
        raise HarnessError(f"building llama-bench needs npm; {INSTALL_HINT}")
    run_tool(["npm", "pack", "--silent", "--pack-destination", str(dest), spec], f"npm pack {spec}", cwd=dest,
             timeout=600)
    tgz = next(dest.glob("*.tgz"), None)
    if tgz is None:
        raise HarnessError(f"npm pack {spec} wrote no tarball in {dest}")
    return tgz


def _libraries(plat: str, work: Path, lib: Path) -> str:
    """Every .so of the platform package (libllama-common.so included) into ``lib``; its source note."""
    spec = f"@node-llama-cpp/{plat}@{NPM_VERSION}"
    tgz = _npm_pack(spec, work)
    with tarfile.open(tgz) as tar:
        for member in tar.getmembers():
            name = Path(member.name).name
            if member.isfile() and member.name.startswith(f"package/bins/{plat}/") and name.endswith(".so"):
                src = tar.extractfile(member)
                assert src is not None
                (lib / name).write_bytes(src.read())
    missing = [n for n in LINK if not (lib / n).is_file()]
    if missing:
        raise HarnessError(f"npm {spec} lacks {missing}")
    note = f"npm {spec} ({tgz.name} sha256 {sha256_of(tgz)})"
    tgz.unlink()
    return note


def _source(work: Path) -> tuple[Path, str]:
    """llama.cpp's source at the release node-llama-cpp built, cloned from the package's git bundle."""
    spec = f"{NPM_SOURCE_PACKAGE}@{NPM_VERSION}"
    tgz = _npm_pack(spec, work)
    with tarfile.open(tgz) as tar:
        names = set(tar.getnames())
        if BUNDLE_IN_PACKAGE not in names:
            raise HarnessError(f"npm {spec} has no {BUNDLE_IN_PACKAGE}")
        for name in (BUNDLE_IN_PACKAGE, INFO_IN_PACKAGE):  # two known regular files, read as bytes
            member = tar.extractfile(tar.getmember(name))
            if member is None:
                raise HarnessError(f"npm {spec}: {name} is not a regular file")
            dst = work / name
            dst.parent.mkdir(parents=True, exist_ok=True)
            with open(dst, "wb") as out:
                shutil.copyfileobj(member, out)
    info = json.loads((work / INFO_IN_PACKAGE).read_text())
    src = work / "llama.cpp"
    run_tool(["git", "clone", "--quiet", str(work / BUNDLE_IN_PACKAGE), str(src)], "git clone llama.cpp's bundle",
             timeout=600)
    head = run_tool(["git", "-C", str(src), "rev-parse", "HEAD"], "git rev-parse").strip()
    note = (f"npm {spec} ({tgz.name} sha256 {sha256_of(tgz)}), llama/gitRelease.bundle: llama.cpp "
            f"{info.get('llamaCppGithubRepo')} {info.get('tag')} (bundle HEAD {head})")
    tgz.unlink()
    return src, note


def build_llama_bench(machine: str | None = None, cache: Path | None = None) -> Path:
    """The llama-bench executable for this host (built once, cached); a HarnessError says why not."""
    machine = machine or platform.machine()
    if machine != platform.machine():
        raise HarnessError(f"llama-bench is built for the host ({platform.machine()}), not {machine}")
    plat = NPM_PLATFORM.get(machine)
    if plat is None:
        raise HarnessError(f"no prebuilt llama.cpp for {machine} (npm @node-llama-cpp has {sorted(NPM_PLATFORM)})")
    cache = cache or parts_cache()
    final = cache / f"llama-bench-{plat}-{NPM_VERSION}"
    if (final / "SOURCE").is_file() and (final / "lib" / BINARY).is_file():
        return final / "lib" / BINARY
    if shutil.which("g++") is None:
        raise HarnessError(f"building llama-bench needs g++; {INSTALL_HINT}")
    cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".llama-bench-", dir=cache))
    work = Path(tempfile.mkdtemp(prefix="llama-bench-src-"))
    try:
        lib = tmp / "lib"
        lib.mkdir()
        lib_note = _libraries(plat, work, lib)
        src, src_note = _source(work)
        bench = src / "tools" / "llama-bench"
        run_tool(["g++", "-std=c++17", "-O2", "-DNDEBUG", "-I", str(src / "common"), "-I", str(src / "include"),
                  "-I", str(src / "ggml" / "include"), str(bench / "llama-bench.cpp"), str(bench / "main.cpp"),
                  "-o", str(lib / BINARY), "-L", str(lib), *(f"-l:{n}" for n in LINK), "-Wl,-rpath,$ORIGIN",
                  "-pthread"], "g++ llama-bench (against the prebuilt libllama-common/libllama)", timeout=900)
        shutil.copy2(src / "LICENSE", tmp / "LICENSE")
        (tmp / "SOURCE").write_text(f"{lib_note}\n{src_note}\nllama-bench sha256 {sha256_of(lib / BINARY)}\n")
        _publish(tmp, final)
        return final / "lib" / BINARY
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
