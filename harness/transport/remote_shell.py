"""POSIX-shell snippets the remote transports (ssh, adb) run on the device.

This is the ONE place where an argv list becomes a shell command line: ``command_line``
quotes every element once with ``shlex.join``. The scripts themselves take their inputs as
positional parameters (``"$1"``), never by string interpolation.

They are written for the shells real devices have: dash/bash (Linux boards), mksh+toybox
(Android) and bash/zsh's ``sh`` on macOS (no ``setsid`` there: perl's ``setpgrp`` instead).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence

from harness.errors import HarnessError

ENV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# $1 pidfile, $2 cwd ("" = stay), rest: argv. The work runs in its own session/process
# group (pgid == its pid) so a timeout can kill everything it spawned, on the device.
# A kill that came before the pidfile existed leaves "$pidfile.cancel": checked after the
# pidfile is written, so a slow start can never outlive its own timeout.
EXEC_WRAPPER = r"""
pidfile=$1; dir=$2; shift 2
mkdir -p "${pidfile%/*}" 2>/dev/null
if [ -n "$dir" ]; then cd "$dir" || exit 126; fi
if command -v setsid >/dev/null 2>&1; then
  setsid "$@" &
elif command -v perl >/dev/null 2>&1; then
  perl -e 'setpgrp(0, 0); exec { $ARGV[0] } @ARGV or exit 127' "$@" &
else
  "$@" &  # no way to start a group here: a timeout kills the process itself
fi
pid=$!
echo "$pid" > "$pidfile"
if [ -e "$pidfile.cancel" ]; then
  kill -9 -"$pid" 2>/dev/null || kill -9 "$pid" 2>/dev/null; rm -f "$pidfile.cancel"
fi
wait "$pid"; rc=$?
rm -f "$pidfile"
exit $rc
"""

# $1 pidfile. Marks the command cancelled, waits briefly for a pidfile that is not written
# yet (a timeout during start-up), then SIGKILLs the whole group.
KILL_GROUP = r"""
pidfile=$1; n=0
mkdir -p "${pidfile%/*}" 2>/dev/null; : > "$pidfile.cancel"
while [ ! -s "$pidfile" ] && [ $n -lt 20 ]; do sleep 0.1; n=$((n+1)); done
pg=$(cat "$pidfile" 2>/dev/null)
if [ -n "$pg" ]; then
  kill -9 -"$pg" 2>/dev/null || kill -9 "$pg" 2>/dev/null
  rm -f "$pidfile" "$pidfile.cancel"
fi
exit 0
"""

# $1 path. Prints the hex digest or nothing (missing file). macOS has shasum, not sha256sum.
SHA256 = r"""
[ -f "$1" ] || exit 0
if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1"; else shasum -a 256 "$1"; fi
"""

# $1 path. Free space in KiB at that path (POSIX df columns; Linux, toybox and macOS agree).
DF_KB = r"""df -k "$1" | tail -n 1"""

# Fingerprint facts as key=value lines. Android via getprop; Linux boards via
# /proc/device-tree and os-release; macOS via sysctl/sw_vers.
FACTS = r"""
p() { printf '%s=%s\n' "$1" "$2"; }
if command -v getprop >/dev/null 2>&1; then
  p model "$(getprop ro.product.model)"
  p manufacturer "$(getprop ro.product.manufacturer)"
  p soc "$(getprop ro.board.platform)"
  p hardware "$(getprop ro.hardware)"
  p os "Android $(getprop ro.build.version.release) (SDK $(getprop ro.build.version.sdk))"
  p os_build "$(getprop ro.build.fingerprint)"
  p abi "$(getprop ro.product.cpu.abi)"
fi
if [ -r /proc/device-tree/model ]; then p dt_model "$(tr -d '\000' < /proc/device-tree/model)"; fi
if [ -r /etc/os-release ]; then p os_release "$(. /etc/os-release; echo "$PRETTY_NAME")"; fi
if command -v sw_vers >/dev/null 2>&1; then
  p os_release "macOS $(sw_vers -productVersion) ($(sw_vers -buildVersion))"
  p cpu_model "$(sysctl -n machdep.cpu.brand_string 2>/dev/null)"
  p cores "$(sysctl -n hw.ncpu)"
  p ram_kb "$(( $(sysctl -n hw.memsize) / 1024 ))"
fi
p kernel "$(uname -sr)"
p machine "$(uname -m)"
p hostname "$(uname -n)"
if [ -r /proc/cpuinfo ]; then
  p cores "$(grep -c '^processor' /proc/cpuinfo)"
  m=$(grep -m1 -i -E '^(model name|Hardware|cpu model)' /proc/cpuinfo | cut -d: -f2-)
  p cpu_model "$(echo $m)"
fi
if [ -r /proc/meminfo ]; then p ram_kb "$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"; fi
"""


def command_line(argv: Sequence[str]) -> str:
    """Quote an argv list once, for a remote ``sh``."""
    return shlex.join([str(a) for a in argv])


def script_argv(script: str, *args: str) -> list[str]:
    """argv running ``script`` with positional parameters (``$0`` names it in errors)."""
    return ["sh", "-c", script, "harness", *args]


def wrapped_exec(
    argv: Sequence[str], pidfile: str, cwd: str | None = None, env: Mapping[str, str] | None = None
) -> str:
    """The command line that runs argv in its own process group with a pidfile."""
    inner = list(argv)
    if env:
        bad = [k for k in env if not ENV_KEY.fullmatch(k)]
        if bad:  # `env -S touch x=...` would run a command: a key must be an identifier
            raise HarnessError(f"environment variable names must be identifiers, got {bad}")
        inner = ["env", *(f"{k}={v}" for k, v in env.items()), *inner]
    return command_line(["sh", "-c", EXEC_WRAPPER, "harness-exec", pidfile, cwd or "", *inner])


def kill_group_line(pidfile: str) -> str:
    return command_line(script_argv(KILL_GROUP, pidfile))


def parse_sha256(stdout: str) -> str | None:
    word = stdout.strip().split(maxsplit=1)
    return word[0] if word and len(word[0]) == 64 else None


def parse_df_kb(stdout: str) -> int | None:
    """Available KiB from the last ``df -k`` line (column 4), None if unparsable."""
    lines = [ln for ln in stdout.splitlines() if ln.strip()]
    if not lines:
        return None
    cols = lines[-1].split()
    try:
        return int(cols[3]) if len(cols) >= 4 else None
    except ValueError:
        return None


def parse_facts(stdout: str, kind: str) -> dict[str, object]:
    """Turn FACTS output into the fingerprint dict every transport returns."""
    raw: dict[str, str] = {}
    for line in stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep and value.strip() and key not in raw:
            raw[key] = value.strip()

    def as_int(v: str | None) -> int | None:
        try:
            return int(v) if v else None
        except ValueError:
            return None

    ram_kb = as_int(raw.get("ram_kb"))
    model = raw.get("model") or raw.get("dt_model") or raw.get("cpu_model")
    return {
        "transport": kind,
        "hostname": raw.get("hostname"),
        "model": model,
        "manufacturer": raw.get("manufacturer"),
        "soc": raw.get("soc") or raw.get("hardware") or raw.get("cpu_model"),
        "os": raw.get("os") or raw.get("os_release") or raw.get("kernel"),
        "os_build": raw.get("os_build") or raw.get("kernel"),
        "abi": raw.get("abi") or raw.get("machine"),
        "cores": as_int(raw.get("cores")),
        "ram_mb": ram_kb // 1024 if ram_kb else None,
    }
