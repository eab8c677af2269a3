"""`harness build`: build the workloads' models at every precision into builds/<id>/."""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.builds.builder import build as build_models
from harness.builds.manifest import load_manifest
from harness.config.loader import load_workload, load_workloads, project_root
from harness.errors import HarnessError


def builds_root() -> Path:
    return Path(os.environ.get("HARNESS_BUILDS", project_root() / "builds"))


def _select(patterns: list[str], files: list[Path], folder: Path | None) -> list[tuple]:
    if files:
        chosen = [(load_workload(p), p) for p in files]
    else:
        chosen = list(load_workloads(folder).values())
    known = sorted(w.name for w, _ in chosen)
    if patterns:
        chosen = [(w, p) for w, p in chosen if any(fnmatch.fnmatchcase(w.name, pat) for pat in patterns)]
    if not chosen:
        raise HarnessError(f"no workload matches {patterns or '(all)'}; known: {', '.join(known) or '(none)'}")
    return chosen


def build(
    workload: list[str] = typer.Option([], "--workload", "-w", help="Workload name or glob (repeatable)."),
    build_id: str | None = typer.Option(None, "--id", help="Build id (default: a content hash; reused if built)."),
    precision: list[str] = typer.Option([], "--precision", "-p", help="Only these precisions (repeatable)."),
    file: list[Path] = typer.Option([], "--file", "-f", help="A workload YAML outside workloads/ (repeatable)."),
    workloads_dir: Path | None = typer.Option(None, "--workloads-dir", help="Folder of workload YAML."),
    out: Path | None = typer.Option(None, "--builds-root", help="Where builds go (default: $HARNESS_BUILDS or ./builds)."),
) -> None:
    """Build models (fp32 + converted precisions) and write manifest.json with sha256 per artifact."""
    console = Console()
    chosen = _select(list(workload), list(file), workloads_dir)
    root = out or builds_root()
    before = {d.name for d in root.glob("*")} if root.is_dir() else set()
    with console.status(f"building {len(chosen)} workload(s)…"):
        folder = build_models(chosen, root, build_id=build_id, precisions=list(precision) or None)
    man = load_manifest(folder)
    reused = build_id is None and folder.name in before
    console.print(f"build [bold]{man.build_id}[/]: {escape(str(folder))}" + (" (unchanged: reused)" if reused else ""),
                  highlight=False)
    table = Table("workload", "precision", "role", "size", "sha256", "notes")
    for name, entry in sorted(man.workloads.items()):
        for prec, pe in entry.precisions.items():
            for i, (role, art) in enumerate(sorted(pe.files.items())):
                notes = "; ".join(pe.notes) if i == 0 else ""
                table.add_row(name, prec, role, f"{art.size / 1e6:.1f} MB", art.sha256[:12], escape(notes))
        for prec, reason in entry.skipped.items():
            table.add_row(name, prec, "-", "-", "-", f"[red]skipped[/]: {escape(reason)}")
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("build")(build)
