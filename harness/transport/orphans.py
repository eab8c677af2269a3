"""End the runner a dead run left on a device before anything else runs there.

Every command a transport runs on a device writes a pidfile ``<pidfile dir>/<id>.pid`` naming
its process group, removed when it ends (``<workdir>/run``; for ``local`` one folder per host
beside its lock, the pidfile naming the workdir too, so a run of any local profile sweeps the dead
runs of every local profile). A host killed with SIGKILL never removes it, and the runner it
started keeps running (it is in its own session, so the host's death does not reach
it). A new run or a ``--resume`` that holds the device lock (so no live orchestrator owns these
pidfiles) calls ``end_orphans`` first: every group still alive is SIGKILLed, and said so,
before a cell is measured beside it. Pidfiles of this transport's own running commands (and
any written after the sweep began, e.g. the lock's heartbeat) are skipped, and on
Linux/Android a process whose command line does not mention the workdir (a pid reused since)
is left alone. A pidfile may carry its orchestrator's pid after the group's (the local transport
writes it: host and device are one machine); a group whose orchestrator is still alive is never
ended, whatever lock situation led to the sweep.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from harness.transport.base import Transport
from harness.transport.remote_shell import script_argv

# $1 pidfile dir  $2 workdir  rest: pidfile names to skip (this transport's own commands)
REAP = r"""
dir=$1; workdir=$2; shift 2
mark="$dir/.reaping.$$"; mkdir -p "$dir" && : > "$mark" || exit 0
for f in "$dir"/*.pid; do
  [ -f "$f" ] || continue
  [ "$f" -nt "$mark" ] && continue  # started after us: not a dead run's
  name=${f##*/}; skip=0
  for s in "$@"; do [ "$s" = "$name" ] && skip=1; done
  [ "$skip" = 1 ] && continue
  pg=""; owner=""; wd=""
  read -r pg owner wd < "$f" 2>/dev/null
  w=${wd:-$workdir}  # the workdir of the profile that started it (a local pidfile names it)
  case "$pg" in ''|*[!0-9]*) rm -f "$f"; continue ;; esac
  [ "$pg" = "$$" ] && continue
  # its own marker: the orchestrator that started it, where it runs on this machine (local): alive -> not ours
  case "$owner" in ''|*[!0-9]*) ;; *) kill -0 "$owner" 2>/dev/null && continue ;; esac
  if kill -0 -"$pg" 2>/dev/null || kill -0 "$pg" 2>/dev/null; then
    cmd=""
    if [ -r "/proc/$pg/cmdline" ]; then  # the whole line is checked (the agent's start runs long), its end shown
      cmd=$(tr '\000' ' ' < "/proc/$pg/cmdline" 2>/dev/null)
      case "$cmd" in *"$w"*) ;; *) rm -f "$f"; continue ;; esac
      cmd=$(printf '%s' "$cmd" | tail -c 300)
    fi
    kill -9 -"$pg" 2>/dev/null || kill -9 "$pg" 2>/dev/null
    printf 'ENDED %s %s\n' "$pg" "$cmd"
  fi
  rm -f "$f" "$f.cancel"
done
rm -f "$mark"
exit 0
"""


@dataclass(frozen=True)
class EndedRunner:
    pid: int
    command: str  # its command line where the device shows it ("" elsewhere)

    def describe(self, device: str) -> str:
        what = f" ({self.command.strip()})" if self.command.strip() else ""
        return f"device {device}: ended process group {self.pid} left running by a dead run{what}"


def end_orphans(transport: Transport, timeout: float = 60.0) -> list[EndedRunner]:
    """SIGKILL every process group a dead run left under the workdir; what was ended."""
    own = sorted(posixpath.basename(p) for p in transport.running_pidfiles())
    res = transport.exec(script_argv(REAP, transport.pidfile_dir, transport.workdir, *own), timeout=timeout)
    ended = []
    for line in res.stdout.splitlines():
        word, _, rest = line.partition(" ")
        pid, _, cmd = rest.partition(" ")
        if word == "ENDED" and pid.isdigit():
            ended.append(EndedRunner(int(pid), cmd))
    return ended
