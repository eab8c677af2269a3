"""A runner that lies (test fixture): it runs the real agent, then rewrites its own result.json.

Used as a device profile's ``runner.interpreter`` (through a tiny shell wrapper), so the harness
starts it with the agent's start (preflight.agent_argv without the interpreter), then job.json (or
``--job-from-stdin``, the job's path then on stdin). What it does to the result is chosen by the
cell's backend name (the last ``_`` part of the job's out_dir), one hostile answer per backend:
see ``MODES``. ``--probe`` passes through untouched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

SPARSE_BYTES = 8 << 30  # declared size of a sparse file: no disk on the device, 8 GiB if the host pulled it


def _series(result: dict) -> dict:
    return next(iter(result["series"].values()))


def nan(r: dict, out: str) -> None:
    _series(r)["samples"][0] = float("nan")


def negative(r: dict, out: str) -> None:
    s = _series(r)
    s["samples"] = [-abs(x) for x in s["samples"]]


def huge(r: dict, out: str) -> None:
    s = _series(r)
    s["samples"] = s["samples"] * (200_000 // len(s["samples"]) + 1)  # far past the job's max_iterations


def types(r: dict, out: str) -> None:
    _series(r)["samples"] = "fast"


def zero(r: dict, out: str) -> None:
    os.symlink("/dev/zero", os.path.join(out, "zero.npz"))
    r["outputs"] = "zero.npz"


def devpath(r: dict, out: str) -> None:
    r["outputs"] = "/dev/zero"


def sparse(r: dict, out: str) -> None:
    with open(os.path.join(out, r["outputs"]), "r+b") as f:
        f.truncate(SPARSE_BYTES)


def markup(r: dict, out: str) -> None:
    r.update(status="failed", error="[/][bold red]boom[/] <script>alert('x')</script> & [link=file:///etc]",
             series={}, outputs=None)


def markupok(r: dict, out: str) -> None:
    name = next(iter(r["series"]))
    r["series"]["lat[/]<i>x</i>"] = r["series"].pop(name)


WHOLE_FILE = {"notjson", "bigjson", "fifo"}  # these replace result.json itself


def rewrite_file(mode: str, path: str) -> None:
    os.unlink(path)
    if mode == "notjson":
        with open(path, "wb") as f:
            f.write(b"\xff{not json[/]")
    elif mode == "bigjson":
        with open(path, "wb") as f:
            f.truncate(SPARSE_BYTES)
    elif mode == "fifo":
        os.mkfifo(path)


MODES = {f.__name__: f for f in (nan, negative, huge, types, zero, devpath, sparse, markup, markupok)}
ALL_MODES = ["ok", *MODES, *sorted(WHOLE_FILE)]

# Modes about what a runner prints rather than its result (not in ALL_MODES: tests name them).
FLOOD_BYTES = int(os.environ.get("HOSTILE_FLOOD_BYTES", str(1 << 30)))
TERMINAL_ATTACK = "\x1b[2J\x1b]0;pwned\x07\x1b[31mred\x1b[0m \u202eexe.txt\u202c done"


def escapes(r: dict, out: str) -> None:
    r.update(status="failed", error=TERMINAL_ATTACK, series={}, outputs=None)


def flood() -> None:
    """A gigabyte on stdout (then the real agent runs: the cell itself is fine)."""
    chunk = b"x" * (1 << 20)
    for _ in range(FLOOD_BYTES >> 20):
        sys.stdout.buffer.write(chunk)
    sys.stdout.buffer.flush()


def garbage() -> int:
    """A native runner crashing with non-UTF-8 output and no result."""
    sys.stderr.buffer.write(b"\xff\xfe\xc3 native crash: boom\n")
    sys.stderr.buffer.flush()
    return 3


def unstorable(r: dict, out: str) -> None:
    """Text PostgreSQL does not take as it is (protocol 1 lets it through: a lone surrogate is refused
    there already): NULs, a provider and a series name past their columns."""
    r["providers"]["used"] = "P" * 80
    series = r["series"].pop(next(iter(r["series"])))
    r["series"]["s" * 200 + "\x00"] = series
    r["memory"]["method"] = "VmHWM\x00"


MODES["escapes"] = escapes
MODES["unstorable"] = unstorable


def main() -> int:
    start, arg = sys.argv[1:-1], sys.argv[-1]  # the agent's start (preflight.agent_argv), then one argument
    if arg == "--job-from-stdin":  # started a cell ahead (prestart): the job's path comes on stdin
        arg = sys.stdin.readline().strip()
        if not arg:
            return 0
    if arg == "--probe":
        return subprocess.call([sys.executable, *start, arg])
    with open(arg) as f:
        out = json.load(f)["out_dir"]
    mode = out.rstrip("/").rsplit("_", 1)[-1]
    if mode == "garbage":
        return garbage()
    if mode == "flood":
        flood()
    rc = subprocess.call([sys.executable, *start, arg])
    path = os.path.join(out, "result.json")
    if mode in WHOLE_FILE:
        rewrite_file(mode, path)
    elif mode in MODES:
        with open(path) as f:
            result = json.load(f)
        MODES[mode](result, out)
        with open(path, "w") as f:
            json.dump(result, f)
    return rc


if __name__ == "__main__":
    sys.exit(main())
