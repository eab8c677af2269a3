"""llama.cpp for the LLM runner without its 24-minute source build, fetched once and cached.

- ``libllama`` / ``libggml`` / ``libggml-base`` and the per-CPU backends ``libggml-cpu-<uarch>.so``
  (loaded at run time with ``ggml_backend_load_all_from_path``): prebuilt inside the npm packages
  ``@node-llama-cpp/linux-x64`` and ``@node-llama-cpp/linux-arm64`` (MIT; glibc >= 2.34).
- ``llama.h`` and the ggml headers: the llama.cpp that the llama-cpp-python source distribution
  vendors (``vendor/llama.cpp``, MIT), the same release (0.5.0) as the npm libraries.

Every download's sha256 is recorded beside it (``SOURCE``) and in the bundle's manifest; nothing is
fetched on a device.
"""

from __future__ import annotations

import shutil
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from harness.builds.manifest import sha256_of
from harness.builds.runner.parts import INSTALL_HINT, _publish, parts_cache, run_tool
from harness.errors import HarnessError

NPM_VERSION = "3.22.1"
LLAMA_VERSION = "0.5.0"  # the llama.cpp release both the npm libraries and the sdist carry
SDIST = "llama-cpp-python"
SDIST_VERSION = "0.3.36"
NPM_PLATFORM = {"x86_64": "linux-x64", "aarch64": "linux-arm64"}
#: the libraries the runner links (the backends are loaded, not linked)
LINKED = (f"libllama.v{LLAMA_VERSION}.so", f"libggml.v{LLAMA_VERSION}.so", "libggml-base.so")


@dataclass
class LlamaParts:
    include_dirs: list[Path]
    lib_dir: Path  # libllama, libggml, libggml-base and libggml-cpu-*.so
    libraries: list[Path]  # every .so the bundle carries
    version: str
    sources: dict[str, str] = field(default_factory=dict)


def _sha_note(path: Path) -> str:
    return f"{path.name} sha256 {sha256_of(path)}"


def npm_libraries(machine: str, cache: Path) -> tuple[Path, str]:
    """The folder of prebuilt .so files for this machine, and where it came from."""
    plat = NPM_PLATFORM.get(machine)
    if plat is None:
        raise HarnessError(f"no prebuilt llama.cpp for {machine} (npm @node-llama-cpp has {sorted(NPM_PLATFORM)})")
    final = cache / f"npm-node-llama-cpp-{plat}-{NPM_VERSION}"
    if (final / "SOURCE").is_file():
        return final / "lib", (final / "SOURCE").read_text().strip()
    if shutil.which("npm") is None:
        raise HarnessError(f"fetching llama.cpp's prebuilt libraries needs npm; {INSTALL_HINT}")
    cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".npm-llama-", dir=cache))
    try:
        spec = f"@node-llama-cpp/{plat}@{NPM_VERSION}"
        run_tool(["npm", "pack", "--silent", "--pack-destination", str(tmp), spec], f"npm pack {spec}", cwd=tmp)
        tgz = next(tmp.glob("*.tgz"), None)
        if tgz is None:
            raise HarnessError(f"npm pack {spec} wrote no tarball in {tmp}")
        note = f"npm {spec} ({_sha_note(tgz)})"
        (tmp / "lib").mkdir()
        with tarfile.open(tgz) as tar:
            for member in tar.getmembers():
                name = Path(member.name).name
                if member.isfile() and member.name.startswith(f"package/bins/{plat}/") and name.endswith(".so") \
                        and name != "libllama-common.so":
                    src = tar.extractfile(member)
                    assert src is not None
                    with open(tmp / "lib" / name, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                elif member.isfile() and member.name == "package/LICENSE":
                    src = tar.extractfile(member)
                    assert src is not None
                    (tmp / "LICENSE").write_bytes(src.read())
        missing = [n for n in LINKED if not (tmp / "lib" / n).is_file()]
        if missing:
            raise HarnessError(f"npm {spec} lacks {missing}")
        tgz.unlink()
        (tmp / "SOURCE").write_text(note + "\n")
        _publish(tmp, final)
        return final / "lib", note
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def sdist_sources(cache: Path) -> tuple[Path, str]:
    """vendor/llama.cpp of the llama-cpp-python sdist: include/, ggml/include/, tools/llama-bench, LICENSE."""
    final = cache / f"sdist-{SDIST}-{SDIST_VERSION}"
    if (final / "SOURCE").is_file():
        return final / "llama.cpp", (final / "SOURCE").read_text().strip()
    cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".sdist-llama-", dir=cache))
    try:
        run_tool([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                  "-d", str(tmp), f"{SDIST}=={SDIST_VERSION}"], f"pip download {SDIST}=={SDIST_VERSION} (sdist)",
                 timeout=1800)
        tgz = next(tmp.glob("*.tar.gz"), None)
        if tgz is None:
            raise HarnessError(f"pip download {SDIST}=={SDIST_VERSION} wrote no source distribution in {tmp}")
        note = f"PyPI {SDIST} {SDIST_VERSION} sdist, vendor/llama.cpp ({_sha_note(tgz)})"
        prefix = f"llama_cpp_python-{SDIST_VERSION}/vendor/llama.cpp/"
        keep = ("include/", "ggml/include/", "tools/llama-bench/", "LICENSE")
        with tarfile.open(tgz) as tar:
            for member in tar.getmembers():
                if not member.isfile() or not member.name.startswith(prefix):
                    continue
                rel = member.name[len(prefix):]
                if not rel.startswith(keep) or ".." in Path(rel).parts:
                    continue
                dst = tmp / "llama.cpp" / rel
                dst.parent.mkdir(parents=True, exist_ok=True)
                src = tar.extractfile(member)
                assert src is not None
                dst.write_bytes(src.read())
        if not (tmp / "llama.cpp" / "include" / "llama.h").is_file():
            raise HarnessError(f"{tgz.name} has no {prefix}include/llama.h")
        tgz.unlink()
        (tmp / "SOURCE").write_text(note + "\n")
        _publish(tmp, final)
        return final / "llama.cpp", note
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def fetch_llama_parts(machine: str, cache: Path | None = None) -> LlamaParts:
    cache = cache or parts_cache()
    lib_dir, lib_note = npm_libraries(machine, cache)
    src, src_note = sdist_sources(cache)
    libs = sorted(lib_dir.glob("*.so"))
    return LlamaParts(
        include_dirs=[src / "include", src / "ggml" / "include"],
        lib_dir=lib_dir,
        libraries=libs,
        version=LLAMA_VERSION,
        sources={"libllama": lib_note, "llama.h": src_note,
                 "libraries": ", ".join(f"{p.name} {sha256_of(p)[:16]}" for p in libs)},
    )
