"""A device-shaped directory the rigs execute in: workdir, getprop, fake sysfs.

Layout under ``root`` (paths mirror a phone / board; the rigs do not chroot, so device
paths are ``root`` + the real path):

- ``data/local/tmp/``                       the Android scratch dir (adb workdir lives here)
- ``system/bin/getprop``                    answers ro.* properties from ``system/build.prop``
- ``system/bin/dumpsys``                    ``meminfo <pid>`` in the native-process format, its TOTAL
                                             PSS the kernel's real Pss (``/proc/<pid>/smaps_rollup``)
- ``sys/class/power_supply/battery/``       current_now (uA), voltage_now (uV), capacity, status
- ``sys/class/thermal/thermal_zone{0,1}/``  type, temp (m degC)

Honest label: these files prove the harness's code paths, not a phone's numbers.
"""

from __future__ import annotations

import os
from pathlib import Path

PROPS = {
    "ro.product.model": "HarnessRig Phone",
    "ro.product.manufacturer": "HarnessRig",
    "ro.product.name": "harnessrig",
    "ro.product.device": "rig",
    "ro.board.platform": "rigsoc8",
    "ro.hardware": "rigsoc",
    "ro.build.fingerprint": "harness/rig/rig:14/RIG1.0/1:userdebug/test-keys",
    "ro.build.version.release": "14",
    "ro.build.version.sdk": "34",
    "ro.product.cpu.abi": "arm64-v8a",
    "ro.product.cpu.abilist": "arm64-v8a,armeabi-v7a,armeabi",
}

GETPROP = """#!/bin/sh
# getprop for the rig: one key -> its value; no key -> all, Android style.
props="$(dirname "$0")/../build.prop"
if [ $# -eq 0 ]; then
  sed -n 's/^\\([^=]*\\)=\\(.*\\)$/[\\1]: [\\2]/p' "$props"; exit 0
fi
v=$(grep -m1 "^$1=" "$props" | cut -d= -f2-)
printf '%s\\n' "${v:-$2}"
"""


DUMPSYS = """#!/bin/sh
# dumpsys for the rig: `meminfo <pid>` prints Android's native-process table, with the
# kernel's real Pss/Rss of that pid; other services are absent, as on a stripped build.
if [ "$1" != meminfo ]; then echo "Can't find service: $1"; exit 0; fi
pid="$2"; roll="/proc/$pid/smaps_rollup"
if [ ! -r "$roll" ]; then echo "No process found for: $pid"; exit 0; fi
pss=$(awk '/^Pss:/ {print $2}' "$roll"); rss=$(awk '/^Rss:/ {print $2}' "$roll")
name=$(tr '\\0' '\\n' < "/proc/$pid/cmdline" | head -n1)
echo "Applications Memory Usage (in Kilobytes):"
echo "Uptime: 3522941 Realtime: 3522941"
echo
echo "** MEMINFO in pid $pid [$name] **"
echo "                   Pss  Private  Private  SwapPss      Rss     Heap     Heap     Heap"
echo "                 Total    Dirty    Clean    Dirty    Total     Size    Alloc     Free"
echo "                ------   ------   ------   ------   ------   ------   ------   ------"
printf '             TOTAL %8d        0        0        0 %8d        0        0        0\\n' "$pss" "$rss"
"""


def build_device_tree(root: Path, props: dict[str, str] | None = None) -> Path:
    """Create (or refresh) the tree; returns root."""
    root = Path(root)
    (root / "data/local/tmp").mkdir(parents=True, exist_ok=True)
    bindir = root / "system/bin"
    bindir.mkdir(parents=True, exist_ok=True)
    all_props = {**PROPS, **(props or {})}
    (root / "system/build.prop").write_text("".join(f"{k}={v}\n" for k, v in all_props.items()))
    getprop = bindir / "getprop"
    getprop.write_text(GETPROP)
    getprop.chmod(0o755)
    dumpsys = bindir / "dumpsys"
    dumpsys.write_text(DUMPSYS)
    dumpsys.chmod(0o755)
    battery = root / "sys/class/power_supply/battery"
    battery.mkdir(parents=True, exist_ok=True)
    for name, value in {"current_now": "-412000", "voltage_now": "3987000", "capacity": "81",
                        "status": "Discharging", "temp": "291"}.items():
        (battery / name).write_text(value + "\n")
    for i, (kind, temp) in enumerate([("cpu-0-0", "41200"), ("battery", "29100")]):
        zone = root / f"sys/class/thermal/thermal_zone{i}"
        zone.mkdir(parents=True, exist_ok=True)
        (zone / "type").write_text(kind + "\n")
        (zone / "temp").write_text(temp + "\n")
    return root


def device_path(root: Path, path: str) -> str:
    """Where a device path lives in the tree, e.g. /sys/class/... -> <root>/sys/class/..."""
    return os.path.join(str(root), path.lstrip("/"))
