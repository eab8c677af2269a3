"""The LLM runner (runner/llm/, protocol 1 jobs of kind ``llm`` on llama.cpp) as a bundle per target.

``build_llm_runner("linux-aarch64")`` makes ``<runners>/llm-linux-aarch64/``: ``run.sh``,
``bin/llm_runner``, ``lib/`` with libllama, libggml and every per-CPU backend (the right one is
picked on the device), and for aarch64 the target's glibc and loader, as the ORT runner's bundle.
An identical build is reused.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from harness.builds.runner import RunnerBuild, reusable_bundle, runner_sources, runners_root
from harness.builds.runner.bundle import LAUNCHER, BundleManifest, write_bundle
from harness.builds.runner.compile import toolchain_args
from harness.builds.runner.llama_parts import (
    LINKED,
    LLAMA_VERSION,
    NPM_VERSION,
    SDIST_VERSION,
    LlamaParts,
    fetch_llama_parts,
)
from harness.builds.runner.parts import INSTALL_HINT, json_headers, parts_cache, run_tool
from harness.builds.runner.targets import _PREAMBLE, TargetSpec, target_spec
from harness.errors import HarnessError

LLAMA_VERSION_NOTE = f"llama.cpp {LLAMA_VERSION} (npm @node-llama-cpp {NPM_VERSION} libraries)"
LLM_TARGETS = ("linux-x86_64", "linux-aarch64")
BINARY = "llm_runner"
#: runner/src files the LLM runner shares with the ORT runner (npz writer, probes, job and result files, uname facts)
SHARED = ("npz.cpp", "npz.hpp", "probes.cpp", "probes.hpp", "spawn.cpp", "spawn.hpp", "clock.hpp", "json.hpp",
          "job_file.hpp", "runner_facts.hpp")
#: runner/cmake files both runners' CMakeLists include
SHARED_CMAKE = ("runner_common.cmake",)


def llm_bundle_name(target: str) -> str:
    return f"llm-{target}"


def llm_source_sha256(target: str, source: Path | None = None) -> str:
    source = source or runner_sources()
    h = hashlib.sha256(f"{target}\0npm {NPM_VERSION}\0sdist {SDIST_VERSION}\0".encode())
    files = (sorted((source / "llm").glob("*")) + [source / "src" / n for n in SHARED]
             + [source / "cmake" / n for n in SHARED_CMAKE])
    for path in files:
        if path.is_file():
            h.update(path.relative_to(source).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def launcher(spec: TargetSpec) -> str:
    exec_line = spec.exec_line.replace("bin/ort_runner", f"bin/{BINARY}")
    return (_PREAMBLE.format(target=f"LLM, {spec.name}") + 'HARNESS_LLAMA_LIB="$d/lib"\nexport HARNESS_LLAMA_LIB\n'
            + exec_line + "\n")


def _compile(spec: TargetSpec, parts: LlamaParts, source: Path, work: Path, version: str) -> Path:
    if shutil.which("cmake") is None:
        raise HarnessError(f"building the LLM runner needs cmake: apt-get install cmake ({INSTALL_HINT})")
    work.mkdir(parents=True, exist_ok=True)
    run_tool(["cmake", "-S", str(source / "llm"), "-B", str(work), "-DCMAKE_BUILD_TYPE=Release",
              "-DLLAMA_INCLUDE_DIRS=" + ";".join(str(p) for p in parts.include_dirs),
              f"-DLLAMA_LIB_DIR={parts.lib_dir}", "-DLLAMA_LIBRARIES=" + ";".join(f":{n}" for n in LINKED),
              f"-DLLAMA_VERSION={parts.version}", f"-DJSON_INCLUDE_DIR={json_headers(parts_cache())}",
              f"-DHARNESS_RUNNER_TARGET={spec.name}", f"-DHARNESS_RUNNER_VERSION={version}",
              *toolchain_args(spec)], f"configuring the {spec.name} LLM runner")
    run_tool(["cmake", "--build", str(work), "--parallel", "2"], f"compiling the {spec.name} LLM runner", timeout=1800)
    binary = work / BINARY
    if not binary.is_file():
        raise HarnessError(f"the {spec.name} LLM runner build finished without {binary}")
    return binary


def _assemble(spec: TargetSpec, binary: Path, parts: LlamaParts, out: Path, digest: str) -> BundleManifest:
    contents = {f"bin/{BINARY}": (binary, True), **{f"lib/{lib.name}": (lib, False) for lib in parts.libraries}}
    return write_bundle(spec, out, contents, source_sha256=digest, onnxruntime="none (llama.cpp LLM runner)",
                        sources=parts.sources, launcher=launcher(spec))


def build_llm_runner(target: str, root: Path | None = None, *, force: bool = False) -> RunnerBuild:
    """Build (or reuse) ``<root>/llm-<target>/``."""
    if target not in LLM_TARGETS:
        raise HarnessError(f"the LLM runner builds for {', '.join(LLM_TARGETS)}, not {target} (no npm llama.cpp "
                           "library for Android's bionic: build llama.cpp with the NDK for that)")
    spec = target_spec(target)
    root = root or runners_root()
    out = root / llm_bundle_name(target)
    source = runner_sources()
    digest = llm_source_sha256(target, source)
    reused = None if force else reusable_bundle(out, digest)
    if reused is not None:
        return reused
    parts = fetch_llama_parts(spec.machine)
    binary = _compile(spec, parts, source, root / ".work" / llm_bundle_name(target), digest[:12])
    return RunnerBuild(out, _assemble(spec, binary, parts, out, digest), reused=False)


def host_llm_runner(root: Path | None = None) -> list[str]:
    """argv of this machine's LLM runner (built on first use): the host tools quantize, tokenize, score."""
    import platform

    target = {"x86_64": "linux-x86_64", "aarch64": "linux-aarch64"}.get(platform.machine())
    if target is None:
        raise HarnessError(f"no LLM runner target for this host ({platform.machine()})")
    build = build_llm_runner(target, root)
    return ["sh", str(build.path / LAUNCHER)]
