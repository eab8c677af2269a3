"""The targets `harness runner build` knows: what each runs on, where its ONNX Runtime comes from,
which toolchain compiles it and how its bundle is launched on the device."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from harness.config.runner_targets import TARGETS, RunnerTarget

__all__ = ["SPECS", "TARGETS", "RunnerTarget", "TargetSpec", "target_spec"]

#: every launcher starts this way: ORT writes $TMPDIR/.ses and $HOME/.cache at start-up, and a
#: phone has no /tmp and a read-only HOME (a warning only, but the workdir is the right place).
_PREAMBLE = """#!/bin/sh
# harness native runner launcher ({target}); `sh run.sh JOB_JSON | --probe`.
d=${{0%/*}}
[ "$d" = "$0" ] && d=.
d=$(cd "$d" && pwd) || exit 127
writable() {{ [ -n "$1" ] && [ -d "$1" ] && [ -w "$1" ]; }}
writable "${{TMPDIR:-/tmp}}" || {{ TMPDIR="$d/tmp"; mkdir -p "$TMPDIR"; export TMPDIR; }}
writable "$HOME" || {{ HOME="$d/home"; mkdir -p "$HOME"; export HOME; }}
"""


@dataclass(frozen=True)
class TargetSpec:
    name: str
    machine: str  # `uname -m` of the devices it runs on
    triple: str  # GNU triple of the Debian cross compiler (`<triple>-g++`), when cross-compiling
    ort_from: Literal["wheel", "aar"]  # libonnxruntime: the PyPI wheel, or ORT's Android AAR
    wheel_platform: str | None  # pip --platform of the onnxruntime wheel
    sysroot: str | None  # where the Debian cross packages keep the target's glibc + libstdc++
    bundle_loader: str | None  # glibc's dynamic loader shipped in lib/ (launched explicitly)
    exec_line: str  # the launcher's last line
    what: str

    @property
    def ort_library_name(self) -> str:
        """The name libonnxruntime has in the bundle's lib/: its SONAME, which the runner links to."""
        return "libonnxruntime.so" if self.ort_from == "aar" else "libonnxruntime.so.1"

    def launcher(self) -> str:
        return _PREAMBLE.format(target=self.name) + self.exec_line + "\n"


SPECS: dict[str, TargetSpec] = {
    "linux-x86_64": TargetSpec(
        name="linux-x86_64",
        machine="x86_64",
        triple="x86_64-linux-gnu",
        ort_from="wheel",
        wheel_platform="manylinux_2_28_x86_64",
        sysroot=None,
        bundle_loader=None,
        exec_line='exec "$d/bin/ort_runner" "$@"',
        what="x86_64 Linux (this machine, NUCs, x86 boards); uses the device's own glibc",
    ),
    "linux-aarch64": TargetSpec(
        name="linux-aarch64",
        machine="aarch64",
        triple="aarch64-linux-gnu",
        ort_from="wheel",
        wheel_platform="manylinux_2_28_aarch64",
        sysroot="/usr/aarch64-linux-gnu/lib",
        bundle_loader="ld-linux-aarch64.so.1",
        exec_line='exec "$d/lib/ld-linux-aarch64.so.1" --library-path "$d/lib" "$d/bin/ort_runner" "$@"',
        what=(
            "any aarch64 device: a stock Android phone (CPU EP, no root, no Python), Jetson, Raspberry Pi; "
            "glibc and its loader travel in the bundle"
        ),
    ),
    "android-arm64": TargetSpec(
        name="android-arm64",
        machine="aarch64",
        triple="aarch64-linux-android",
        ort_from="aar",
        wheel_platform=None,
        sysroot=None,
        bundle_loader=None,
        exec_line='LD_LIBRARY_PATH="$d/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"\nexport LD_LIBRARY_PATH\n'
        'exec "$d/bin/ort_runner" "$@"',
        what="Android arm64 with ORT's Android build (NNAPI, XNNPACK); needs the Android NDK to build",
    ),
}


#: which runner build brings an execution provider the Linux bundles lack (said when a cell is skipped)
PROVIDER_BUILDS = {
    "NnapiExecutionProvider": "the android-arm64 runner (ORT's Android AAR; `harness runner build` needs the NDK)",
    "XnnpackExecutionProvider": "the android-arm64 runner (ORT's Android AAR; `harness runner build` needs the NDK)",
    "QNNExecutionProvider": "a runner around an ONNX Runtime built with QNN (Qualcomm's onnxruntime-android-qnn)",
    "CUDAExecutionProvider": "a runner bundle carrying libonnxruntime from the onnxruntime-gpu wheel",
    "TensorrtExecutionProvider": "a runner bundle carrying libonnxruntime from the onnxruntime-gpu wheel",
}


def target_spec(name: str) -> TargetSpec:
    from harness.errors import HarnessError

    spec = SPECS.get(name)
    if spec is None:
        raise HarnessError(f"unknown runner target {name!r}; known: {', '.join(TARGETS)}")
    return spec
