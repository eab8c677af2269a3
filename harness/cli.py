"""The `harness` command line: a thin typer app.

Each module in ``harness.commands`` defines ``register(app)``; they are discovered here,
so adding a subcommand never edits this file. A HarnessError becomes a one-line message
(or several, for config errors) on stderr and exit code 2.
"""

from __future__ import annotations

import importlib
import pkgutil
import signal
import sys

import typer
from rich.console import Console
from rich.text import Text

import harness.commands
from harness import __version__
from harness.errors import HarnessError, RunInterrupted
from harness.terminal_text import terminal_safe

app = typer.Typer(
    name="harness",
    help="Benchmark ONNX model builds on devices: latency, memory, power and output error vs fp32.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # plain click help: typer's rich help loads rich.markdown and markdown-it, 0.1 s of CPU on every --help
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"harness {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """harness: the on-device ML benchmarking harness."""


def _register_commands() -> None:
    for mod in sorted(pkgutil.iter_modules(harness.commands.__path__), key=lambda m: m.name):
        if mod.name.startswith("_"):
            continue
        module = importlib.import_module(f"harness.commands.{mod.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_register_commands()


def _error(message: str) -> None:
    Console(stderr=True).print(Text.assemble(("error:", "bold red"), " ", terminal_safe(message)), highlight=False,
                               soft_wrap=True)


def _interrupted(exc: KeyboardInterrupt) -> None:
    said = str(exc) if isinstance(exc, RunInterrupted) else "finished cells are stored; resume with --resume"
    Console(stderr=True).print(Text.assemble(("interrupted", "yellow"), f": {said}"), highlight=False, soft_wrap=True)
    sys.exit(130)


def _terminate(signum: int, _frame: object) -> None:
    """SIGTERM (a CI job cancelled, a service stopped) ends a command the way Ctrl-C does: a run is
    stored as interrupted, staging folders are removed, nothing half-written is left."""
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> None:
    signal.signal(signal.SIGTERM, _terminate)
    try:
        rc = app(standalone_mode=False)  # click returns typer.Exit's code here instead of raising
        if isinstance(rc, int) and rc:
            sys.exit(rc)
    except HarnessError as exc:
        _error(str(exc))  # user- and device-supplied text: printed as it is, never as markup
        sys.exit(2)
    except OSError as exc:  # the file system said no (disk full, permission): a clear message, not a traceback
        where = f" ({exc.filename})" if exc.filename else ""
        _error(f"{exc.strerror or exc}{where}")
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt as exc:
        _interrupted(exc)
    except Exception as exc:  # click usage errors arrive here in non-standalone mode
        try:
            import click
        except ImportError:  # typer >= 0.20 vendors click as typer._click
            from typer import _click as click  # type: ignore[no-redef]

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(2)
        abort = getattr(click.exceptions, "Abort", None)  # absent from typer's vendored click
        if abort is not None and isinstance(exc, abort):  # click's wrapping of a KeyboardInterrupt
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, KeyboardInterrupt):
                _interrupted(cause)
            sys.exit(130)
        raise
