"""`harness runner build`: compile the native runner into a bundle under builds/runners/<target>/."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from harness.config.runner_targets import TARGETS
from harness.errors import HarnessError

runner_app = typer.Typer(help="The native runner (runner/, C++): build bundles for devices without Python.",
                         no_args_is_help=True)


@runner_app.command("build")
def build(
    target: list[str] = typer.Option(..., "--target", "-t", help=f"One of {', '.join(TARGETS)} (repeatable)."),
    out: Path | None = typer.Option(None, "--out", help="Where bundles go (default: $HARNESS_BUILDS/runners or "
                                                        "./builds/runners)."),
    ort_version: str | None = typer.Option(None, "--ort-version", help="onnxruntime wheel version for Linux targets "
                                                                      "(default: the host's, so both runners match)."),
    force: bool = typer.Option(False, "--force", help="Rebuild even when an identical bundle exists."),
    kind: str = typer.Option("onnx", "--kind", help="onnx: the ONNX Runtime runner; llm: the LLM runner on "
                                                    "libllama (bundle llm-TARGET)."),
    runtime: list[str] = typer.Option([], "--runtime", help="Build the ONNX Runtime runner with another runtime's "
                                                           "kind too, at the host's version of it (bundle "
                                                           "RUNTIME-TARGET; README, Runtimes, names which)."),
) -> None:
    """Fetch the parts (pip, npm, Debian), compile runner/ with CMake, write the bundle + manifest.json (sha256)."""
    if kind not in ("onnx", "llm"):
        raise HarnessError(f"--kind {kind!r}: one of onnx, llm")
    if runtime and kind != "onnx":
        raise HarnessError(f"--runtime is for the ONNX Runtime runner (--kind onnx), not --kind {kind}")
    from harness.builds.runner import SPECS, build_runner, runners_root
    from harness.builds.runner.llm import build_llm_runner

    unknown = [t for t in target if t not in SPECS]
    if unknown:
        raise HarnessError(f"unknown runner target(s) {unknown}; known: {', '.join(TARGETS)}")
    console = Console(highlight=False)
    root = out or runners_root()
    table = Table("target", "bundle", "onnxruntime", "runtimes", "files", "size")
    for name in dict.fromkeys(target):
        with console.status(f"building the {name} runner (fetch parts, compile)…"):
            built = (build_llm_runner(name, root, force=force) if kind == "llm"
                     else build_runner(name, root, ort_version=ort_version, force=force, runtimes=tuple(runtime)))
        man = built.manifest
        size = sum(f.size for f in man.files.values())
        console.print(f"{name}: {built.path}" + (" (unchanged: reused)" if built.reused else ""), markup=False)
        console.print(f"  runs on {SPECS[name].what}", markup=False)
        table.add_row(name, man.bundle_id[:12], man.onnxruntime,
                      ", ".join(f"{k} {v}" for k, v in man.runtimes.items()) or "-", str(len(man.files)),
                      f"{size / 1e6:.1f} MB")
    console.print(table)
    if runtime:
        console.print("use it from a device profile: runner: {kind: native, push: <the bundle folder above>}",
                      markup=False)
    else:
        console.print("use it from a device profile: runner: {kind: native, build: TARGET}", markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(runner_app, name="runner")
