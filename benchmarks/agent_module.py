"""The agent (harness/agent/agent.py, pushed alone to devices) imported in process, so a benchmark can time
its functions directly."""

from __future__ import annotations

import importlib.util
from types import ModuleType

from harness.session.jobs import agent_source


def load_agent(module_name: str) -> ModuleType:
    """A fresh import of the agent's source under ``module_name`` (one per benchmark: no shared state)."""
    spec = importlib.util.spec_from_file_location(module_name, agent_source())
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
