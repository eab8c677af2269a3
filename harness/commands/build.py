"""`harness build`: build the workloads' models at every precision into builds/<id>/."""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table
from rich.text import Text

from harness.errors import HarnessError

if TYPE_CHECKING:  # pydantic models load when the command runs, not at `harness --help`
    from harness.builds.manifest import VariantCheck


def _select(patterns: list[str], files: list[Path], folder: Path | None, named: list[Path]) -> list[tuple]:
    """The --file workloads (else the folder's) filtered by the name globs, plus the workload files
    given to -w by path (always built)."""
    from harness.config.loader import load_workload, load_workloads

    pool = [(load_workload(p), p) for p in files] if files else []
    if not files and (patterns or not named):
        pool = list(load_workloads(folder).values())
    given = [(load_workload(p), p) for p in named]
    known = sorted(w.name for w, _ in [*pool, *given])
    if patterns:
        pool = [(w, p) for w, p in pool if any(fnmatch.fnmatchcase(w.name, pat) for pat in patterns)]
    chosen = pool + given
    if not chosen:
        raise HarnessError(f"no workload matches {patterns or '(all)'}; known: {', '.join(known) or '(none)'}")
    return chosen


def build(
    workload: list[str] = typer.Option([], "--workload", "-w",
                                       help="Workload name glob, or a workload YAML file (repeatable)."),
    build_id: str | None = typer.Option(None, "--id", help="Build id (default: a content hash; reused if built)."),
    precision: list[str] = typer.Option([], "--precision", "-p", help="Only these precisions (repeatable)."),
    file: list[Path] = typer.Option([], "--file", "-f", help="A workload YAML outside workloads/ (repeatable)."),
    workloads_dir: Path | None = typer.Option(None, "--workloads-dir", help="Folder of workload YAML."),
    out: Path | None = typer.Option(None, "--builds-root",
                                   help="Where builds go (default: $HARNESS_BUILDS, else builds/ at home)."),
    gc: bool = typer.Option(False, "--gc", help="Build nothing: share the artifacts of older build folders by "
                            "content and remove the stored artifacts no build uses any more."),
) -> None:
    """Build models (fp32 + converted precisions) and write manifest.json with sha256 per artifact.

    Builds share artifacts by content: a -w / -p subset of a stored build links its files (one copy
    on disk); `harness build --gc` removes what no build folder uses any more."""
    from harness.builds.manifest import load_manifest
    from harness.config.locations import builds_root

    console = Console()
    if gc:
        _collect(console, out or builds_root())
        return
    named = [Path(w) for w in workload if w.endswith((".yaml", ".yml"))]
    globs = [w for w in workload if not w.endswith((".yaml", ".yml"))]
    chosen = _select(globs, list(file), workloads_dir, named)
    root = out or builds_root()
    before = {d.name for d in root.glob("*")} if root.is_dir() else set()
    with console.status(f"building {len(chosen)} workload(s)…"):
        from harness.builds.builder import build as build_models  # onnx + onnxruntime: only when building

        folder = build_models(chosen, root, build_id=build_id, precisions=list(precision) or None)
    man = load_manifest(folder)
    reused = build_id is None and folder.name in before
    console.print(f"build [bold]{man.build_id}[/]: {escape(str(folder))}" + (" (unchanged: reused)" if reused else ""),
                  highlight=False)
    table = Table("workload", "precision", "role", "size", Column("sha256", no_wrap=True, min_width=12), "check", "notes")
    for name, entry in sorted(man.workloads.items()):
        for prec, pe in entry.precisions.items():
            for i, (role, art) in enumerate(sorted(pe.files.items())):
                notes = Text("; ".join(pe.notes) if i == 0 else "")
                table.add_row(Text(name), prec, Text(role), f"{art.size / 1e6:.1f} MB", art.sha256[:12],
                              _check_cell(pe.check) if i == 0 else "", notes)
        for prec, reason in entry.skipped.items():
            table.add_row(Text(name), prec, "-", "-", "-", Text("skipped", style="red"), Text(reason))
        if entry.error:  # the workload could not be built: its cells fail
            table.add_row(Text(name), "-", "-", "-", "-", Text("failed", style="red"), Text(entry.error.splitlines()[0]))
    console.print(table)
    broken = [entry.error for entry in man.workloads.values() if entry.error]
    if broken:  # the build holds the other workloads; this command still says it did not build them all
        raise HarnessError("\n".join(broken))


def _collect(console: Console, root: Path) -> None:
    from harness.builds import objects  # no onnx needed: files and links only

    if not root.is_dir():
        console.print(f"no builds folder at {escape(str(root))}: nothing to collect", highlight=False)
        return
    adopted = objects.adopt(root)
    done = objects.gc(root)
    console.print(f"{escape(str(root))}: {adopted} artifact file(s) of older builds now shared; removed "
                  f"{done.removed} unreferenced artifact(s), {done.bytes / 1e6:.1f} MB freed; {done.kept} kept",
                  highlight=False)


def _check_cell(check: VariantCheck | None) -> Text:
    """The build check of a variant: ran / unchanged / failed with its cause and fix (plain text)."""
    if check is None:
        return Text("-")
    if not check.loaded:
        return Text("failed", style="red") + Text(f": {check.cause}; fix: {check.fix}")
    if check.unchanged:
        return Text("unchanged vs fp32", style="yellow")
    return Text("ran", style="green")


def register(app: typer.Typer) -> None:
    app.command("build")(build)
