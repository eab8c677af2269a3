"""The options of the commands that take a run ref (`latest~N`): which store, and which runs count.

`latest~N` counts back over the runs that planned a matching device and workload; `compare` and
`export` name the same options, so they are spelled once here.
"""

from __future__ import annotations

from typing import Any

import typer


def store_option() -> Any:
    return typer.Option(None, "--store", help="Results store: path or SQLAlchemy URL.")


def counted_device_option() -> Any:
    return typer.Option([], "--device", "-d", help="latest~N counts only runs that planned a matching device (glob, "
                                                   "repeatable).")


def counted_workload_option() -> Any:
    return typer.Option([], "--workload", "-w", help="latest~N counts only runs that planned a matching workload (glob, "
                                                     "repeatable).")
