"""The regression hook: a user command run when the night confirms regressions.

The command (an argv list from farm.yaml, never a shell string we assemble) gets the new
alerts as JSON on stdin and as a file named by $HARNESS_ALERTS_JSON, plus $HARNESS_FARM,
$HARNESS_NIGHT and $HARNESS_SITE. Its failure is reported, never fatal to the night.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.analysis.alerts import Alert
from harness.config.farm import Hook


@dataclass
class HookResult:
    ran: bool
    rc: int | None = None
    output: str = ""
    alerts: int = 0


def new_alerts(before: Sequence[Alert], after: Sequence[Alert], states: Sequence[str]) -> list[Alert]:
    """Alerts that entered one of ``states`` since ``before`` (each is announced once)."""
    old = {a.key: a.state for a in before}
    return [a for a in after if a.state in states and old.get(a.key) != a.state]


def payload(alerts: Sequence[Alert], farm: str, night: str, site: str | None) -> dict[str, Any]:
    from harness.views.site import alert_record

    return {"farm": farm, "night": night, "site": site, "alerts": [alert_record(a, None) for a in alerts]}


def run_hook(hook: Hook, doc: dict[str, Any]) -> HookResult:
    if not doc["alerts"]:
        return HookResult(False)
    text = json.dumps(doc, indent=1, default=str)
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="harness-alerts-", delete=False) as f:
        f.write(text)
    env = {**os.environ, "HARNESS_ALERTS_JSON": f.name, "HARNESS_FARM": doc["farm"], "HARNESS_NIGHT": doc["night"],
           "HARNESS_SITE": doc.get("site") or ""}
    try:
        proc = subprocess.run(hook.command, input=text, capture_output=True, text=True, env=env,
                              timeout=hook.timeout_s, check=False)
        return HookResult(True, proc.returncode, (proc.stdout + proc.stderr)[-2000:], len(doc["alerts"]))
    except (OSError, subprocess.TimeoutExpired) as exc:
        return HookResult(True, None, f"hook {hook.command[0]!r} failed: {exc}", len(doc["alerts"]))
    finally:
        os.unlink(f.name)
