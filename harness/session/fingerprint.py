"""Device fingerprint: a short hash of the facts that make two measurements comparable.

Clocks, governors and temperatures are recorded as info elsewhere and deliberately left
out: they change run to run without the device changing.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

FINGERPRINT_KEYS = ("transport", "serial", "hostname", "model", "soc", "os", "abi", "cores", "ram_mb")


def fingerprint(info: dict[str, Any], agent_env: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    facts = {k: info.get(k) for k in FINGERPRINT_KEYS if info.get(k) is not None}
    facts["onnxruntime"] = agent_env.get("onnxruntime")
    facts["python"] = agent_env.get("python")
    digest = hashlib.sha256(json.dumps(facts, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return digest, {**info, **{f"agent_{k}": v for k, v in agent_env.items() if k != "pid"}}
