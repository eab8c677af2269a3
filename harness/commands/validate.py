"""`harness validate [PATHS]`: check device, workload and farm YAML without running anything."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from harness.errors import ConfigError


def _targets(paths: list[Path]) -> list[Path]:
    from harness.config.loader import project_root

    if not paths:
        root = project_root()
        paths = [root / "devices", root / "workloads"] + ([root / "farm.yaml"] if (root / "farm.yaml").exists() else [])
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out += sorted([*p.glob("*.yaml"), *p.glob("*.yml")])
        else:
            out.append(p)
    return out


def _validate_one(path: Path) -> str:
    from harness.config.loader import detect_kind, load_device, load_workload  # pydantic: when validating

    kind = detect_kind(path)
    if kind == "device":
        load_device(path)
    elif kind == "workload":
        from harness.builds.io_check import raise_for_problems  # a user model: inputs vs its graph

        raise_for_problems(load_workload(path), path)
    else:
        from harness.config.farm import load_farm  # farm inventory (nightly)

        load_farm(path)
    return kind


def validate(paths: list[Path] = typer.Argument(None, help="YAML files or folders (default: devices/ workloads/)")) -> None:
    """Validate YAML: errors name file:line:col, the field, expected vs got.

    A workload naming its own model (model.path) is also checked against the model's graph:
    input names, dtypes, ranks, fixed dims, dim bindings and from_output.
    """
    out, err = Console(), Console(stderr=True)
    failed = 0
    targets = _targets(list(paths or []))
    for path in targets:
        try:
            kind = _validate_one(path)
            out.print(f"[green]ok[/]    {escape(str(path))} ({kind})", highlight=False, soft_wrap=True)
        except ConfigError as exc:
            failed += 1
            err.print(Text("error", style="red") + Text(f" {exc}"), highlight=False, soft_wrap=True)
    if failed:
        err.print(f"{failed} of {len(targets)} file(s) invalid", highlight=False)
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
