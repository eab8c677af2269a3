"""Workload metrics derived from the agent's raw series. Pure functions.

``derived_series`` turns samples into per-sample rates (kept as series, so compare can
test them like any noisy metric); ``derived_metrics`` quotes their medians:

- text-generation: ``tokens_per_s@p32g16`` = 1000 / decode ms per token;
  ``prefill_tokens_per_s@p32`` = P * 1000 / ttft ms.
- translation: ``decoder_tokens_per_s@s16`` = 1000 / decoder ms per token.
- single (image / generic): ``items_per_s@b4`` = batch * 1000 / latency ms (batch from
  ``params["batch_sizes"]``, label -> batch size).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np

from harness.records import MetricValue

_PROMPT = re.compile(r"^p(\d+)")


def _rate(samples: Sequence[float], per_call: float) -> list[float]:
    return [per_call * 1000.0 / s for s in samples if s > 0]


def derived_series(kind: str, series: Mapping[str, Sequence[float]], params: Mapping) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for name, samples in series.items():
        base, _, label = name.partition("@")
        if base == "decode_ms":
            out[f"tokens_per_s@{label}"] = _rate(samples, 1.0)
        elif base == "ttft_ms" and (m := _PROMPT.match(label)):
            out[f"prefill_tokens_per_s@{label}"] = _rate(samples, float(m.group(1)))
        elif base == "decoder_ms":
            out[f"decoder_tokens_per_s@{label}" if label else "decoder_tokens_per_s"] = _rate(samples, 1.0)
        elif base == "latency_ms":
            batch = (params.get("batch_sizes") or {}).get(label)
            if batch:
                out[f"items_per_s@{label}"] = _rate(samples, float(batch))
    return out


def derived_metrics(kind: str, series: Mapping[str, Sequence[float]], params: Mapping) -> list[MetricValue]:
    """Medians of ``derived_series`` (kind "noisy": the per-sample series exists to test)."""
    metrics = []
    for name, values in derived_series(kind, series, params).items():
        if not values:
            continue
        unit = "items/s" if name.startswith("items_per_s") else "tokens/s"
        metrics.append(
            MetricValue(name=name, value=float(np.median(values)), unit=unit, kind="noisy", method="median of per-sample rate")
        )
    return metrics
