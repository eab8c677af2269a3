"""A cell's configuration identity as stored: what must match for two cells to be compared."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def config_identity(result: Mapping[str, Any] | None, ep_requested: str | None = None) -> str | None:
    """A cell's configuration as one canonical string "key=value;..." (None when unknown).

    ``result["identity"]`` = {"session": {...}, "provider", "provider_options": {...}, "runner"} (+ "runtime",
    "runtime_version", "runtime_options" for a runtime other than ONNX Runtime: a runtime or its version
    changing makes two cells incomparable); stores
    written before it hold the applied session settings in ``result["session"]`` and ran the Python
    agent on the requested provider, which reads the same. Values are JSON, so 2 and "2" differ."""
    if not isinstance(result, Mapping):
        return None
    ident = result.get("identity")
    if isinstance(ident, Mapping):
        session = ident.get("session") if isinstance(ident.get("session"), Mapping) else {}
        provider = ident.get("provider") or ep_requested
        options = ident.get("provider_options") if isinstance(ident.get("provider_options"), Mapping) else {}
        runner = ident.get("runner") or "python-agent"
    elif isinstance(result.get("session"), Mapping):
        session, provider, options, runner = result["session"], ep_requested, {}, "python-agent"
    else:
        return None
    items = {f"session.{k}": v for k, v in session.items()}  # type: ignore[union-attr]
    items.update({f"provider_options.{k}": v for k, v in options.items()})  # type: ignore[union-attr]
    if provider:
        items["provider"] = provider
    items["runner"] = runner
    if isinstance(ident, Mapping) and ident.get("runtime"):  # a runtime other than ONNX Runtime, and its version
        items["runtime"] = ident["runtime"]
        items["runtime_version"] = ident.get("runtime_version") or "unknown"
        opts = ident.get("runtime_options")
        items.update({f"runtime_options.{k}": v for k, v in (opts if isinstance(opts, Mapping) else {}).items()})
    return ";".join(f"{k}={json.dumps(v, sort_keys=True, default=str)}" for k, v in sorted(items.items())
                    if v is not None)  # an unset setting reads the same as an absent one
