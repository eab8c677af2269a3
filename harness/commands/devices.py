"""`harness devices`: the device profiles, what each declares, and whether it answers now."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table


def _transport_target(p) -> str:  # type: ignore[no-untyped-def]
    t = p.transport
    if t.kind == "ssh":
        return f"ssh {t.user + '@' if t.user else ''}{t.host}{':' + str(t.port) if t.port else ''}"
    if t.kind == "adb":
        return f"adb {t.serial}" + (f" via {t.server}" if t.server else "")
    return "local"


def devices(
    devices_dir: Path | None = typer.Option(None, "--devices-dir", help="Folder of device profiles."),
    check: bool = typer.Option(True, "--check/--no-check", help="Probe each device's reachability."),
    timeout: float = typer.Option(10.0, "--timeout", help="Seconds per reachability probe."),
) -> None:
    """List device profiles with transport, backends, precisions and reachability."""
    from harness.config.loader import load_devices
    from harness.session.reachability import check_all

    loaded = load_devices(devices_dir)
    profiles = [p for p, _ in loaded.values()]
    reach = {r.device: r for r in check_all(profiles, timeout)} if check else {}
    t = Table(header_style="bold")
    for col in ("device", "transport", "runner", "backends", "precisions", "reachable", "detail"):
        t.add_column(col)
    for p in profiles:
        r = reach.get(p.name)
        status = "–" if r is None else ("[green]yes[/]" + (f" ({r.round_trip_ms:.0f} ms)" if r.round_trip_ms else "")
                                       if r.ok else "[red]no[/]")
        r_cfg = p.runner
        runner = r_cfg.interpreter if r_cfg.kind == "python" else (r_cfg.build or r_cfg.push or r_cfg.binary)
        name = p.name + (" [dim](example)[/]" if p.example else "")
        t.add_row(name, escape(_transport_target(p)), escape(f"{p.runner.kind}: {runner or 'host python'}"),
                  ", ".join(f"{b.name} ({b.provider.removesuffix('ExecutionProvider') if b.provider else b.runtime})"
                            for b in p.backends),
                  " ".join(p.precisions), status, escape((r.detail if r else "")[:120]))
    Console(width=None if sys.stdout.isatty() else 200).print(t)  # piped: don't squeeze to 80 columns


def register(app: typer.Typer) -> None:
    app.command("devices")(devices)
