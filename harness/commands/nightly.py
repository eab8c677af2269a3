"""`harness nightly [farm.yaml]`: run (or resume) tonight's farm night, then publish.

Output is one line per event (it runs under cron / systemd: logs, not progress bars).
Exit 0 when the night completed (quarantined devices and failed cells are data), 1 when a
step after the run (history, publish, hook) failed, 2 on a harness error.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console


def nightly(
    farm: Path = typer.Argument(Path("farm.yaml"), help="The farm inventory."),
    resume: bool = typer.Option(False, "--resume", help="Complete this shard's latest unfinished night: "
                                                         "exactly its missing cells."),
    shard: str | None = typer.Option(None, "--shard", help="Take every n-th device: i/n (e.g. 2/3)."),
    label: list[str] = typer.Option([], "--label", "-l", help="Take the devices with this label: key=value "
                                                                 "(repeatable, all must match)."),
    night: str | None = typer.Option(None, "--night", help="Night label (default: today's UTC date)."),
    store_url: str | None = typer.Option(None, "--store", help="Results store: path or SQLAlchemy URL "
                                                                "(default: the farm's `store`)."),
    publish_dir: Path | None = typer.Option(None, "--publish-dir", help="Site folder (default: the farm's)."),
    no_publish: bool = typer.Option(False, "--no-publish", help="Skip the site and the farm-health files."),
) -> None:
    """Preflight every device, run the farm's plan in parallel, detect regressions, publish."""
    from harness.config.farm import load_farm, parse_selector
    from harness.config.ids import check_id
    from harness.config.outputs import output_dir
    from harness.farm.night import run_night
    from harness.farm.selection import parse_shard
    from harness.results.store import Store
    from harness.session.runner import Event

    console = Console(highlight=False, soft_wrap=True)
    if night is not None:
        check_id(night, "--night")  # it names a folder under the farm's state_dir
    if publish_dir is not None and not no_publish:
        output_dir(publish_dir, "--publish-dir")
    cfg = load_farm(farm)
    sh = parse_shard(shard, parse_selector(label))
    store = Store(store_url or cfg.store_url())
    if no_publish:
        cfg.farm = cfg.farm.model_copy(update={"publish_dir": None})

    def on_event(e: Event) -> None:
        if e.kind == "cell_done" and e.record is not None:
            r = e.record
            extra = f": {r.error}"[:300] if r.error else ""
            console.print(f"{r.status:<13} {r.cell_key} ({r.wall_s or 0:.1f} s){extra}", markup=False)
        elif e.kind in ("device_error", "device_note"):
            console.print(f"device {e.device}: {e.message}", markup=False)

    result = run_night(cfg, store, shard=sh, night=night, resume=resume, publish_dir=publish_dir,
                       on_event=on_event, log=lambda s: console.print(s, markup=False))
    if result is not None:
        console.print(f"results: {store.shown} (run {result.run_id}, night {result.night}, shard {result.shard})",
                      markup=False)
        if result.problems:  # every cell is stored; a step after the run needs attention
            raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("nightly")(nightly)
