"""`harness alerts [list|ack|invalidate|fix|confirm]`: regression alerts from the history."""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

alerts_app = typer.Typer(help="Regression alerts: suspected -> confirmed -> acknowledged / invalid / fixed.",
                         no_args_is_help=False, invoke_without_command=True)

_STYLE = {"suspected": "yellow", "confirmed": "bold red", "acknowledged": "dim", "invalid": "green",
          "fixed": "green"}


@alerts_app.callback()
def _default(ctx: typer.Context) -> None:
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_cmd, show_all=False, canary=None, store_url=None)


@alerts_app.command("list")
def list_cmd(
    show_all: bool = typer.Option(False, "--all", help="Include acknowledged, invalid and fixed alerts."),
    canary: list[str] = typer.Option(None, "--canary", help="WORKLOAD or DEVICE=WORKLOAD: the device's canary."),
    store_url: str | None = typer.Option(None, "--store", help="Results store: path or SQLAlchemy URL."),
) -> None:
    """Scan the history for regressions, update the stored alerts, list them."""
    from harness.commands._canaries import parse_canaries
    from harness.results.store import Store
    from harness.views.history import alert_ids, load_series, sync_alerts

    store = Store(store_url)
    items = sync_alerts(store, load_series(store), canaries=parse_canaries(canary))
    ids = alert_ids(store)
    shown = [a for a in items if show_all or a.state in ("suspected", "confirmed")]
    out = Console(width=None if sys.stdout.isatty() else 220)
    table = Table(title=f"alerts: {len(shown)} shown of {len(items)}")
    for col in ("id", "state", "device", "workload", "prec", "backend", "metric", "run", "build", "before → after",
                "note"):
        table.add_column(col)
    for a in shown:
        table.add_row(str(ids[a.key]), f"[{_STYLE[a.state]}]{a.state}[/]",
                      *(escape(str(x)) for x in (a.device, a.workload, a.precision, a.backend, a.metric, a.run_id,
                                                 a.build_id or "")),
                      f"{a.before:.4g} → {a.after:.4g} (x{a.ratio:.3f})", escape(a.note))
    out.print(table)


def _set_state(alert_id: int, state: str, note: str, store_url: str | None) -> None:
    from harness.analysis.alerts import transition
    from harness.errors import HarnessError
    from harness.results.analysis_tables import alert_by_id, save_alerts
    from harness.results.store import Store

    store = Store(store_url)
    alert = alert_by_id(store, alert_id)
    if alert is None:
        raise HarnessError(f"no alert with id {alert_id} in {store.shown} (see `harness alerts list --all`)")
    save_alerts(store, [transition(alert, state, note)])
    Console().print(f"alert {alert_id}: {alert.state} -> {state}", highlight=False)


def _state_command(name: str, state: str, doc: str) -> None:
    def cmd(
        alert_id: int = typer.Argument(..., help="Alert id from `harness alerts list`."),
        note: str = typer.Option("", "--note", help="Why (kept with the alert)."),
        store_url: str | None = typer.Option(None, "--store", help="Results store: path or SQLAlchemy URL."),
    ) -> None:
        _set_state(alert_id, state, note, store_url)

    cmd.__doc__ = doc
    alerts_app.command(name)(cmd)


_state_command("ack", "acknowledged", "Acknowledge: the change is known and accepted.")
_state_command("invalidate", "invalid", "Mark as a false alarm.")
_state_command("fix", "fixed", "Mark as fixed.")
_state_command("confirm", "confirmed", "Confirm a suspected regression.")


def register(app: typer.Typer) -> None:
    app.add_typer(alerts_app, name="alerts")
