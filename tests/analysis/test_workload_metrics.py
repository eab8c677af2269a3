"""Derived workload metrics (tokens/s, items/s) from raw series."""

from __future__ import annotations

import pytest

from harness.analysis.workload_metrics import derived_metrics, derived_series


def test_text_generation_rates():
    series = {"decode_ms@p32g16": [2.0, 4.0, 5.0], "ttft_ms@p32": [16.0, 32.0], "generation_ms@p32g16": [50.0]}
    s = derived_series("text-generation", series, {})
    assert s["tokens_per_s@p32g16"] == [500.0, 250.0, 200.0]
    assert s["prefill_tokens_per_s@p32"] == [2000.0, 1000.0]
    m = {x.name: x for x in derived_metrics("text-generation", series, {})}
    assert m["tokens_per_s@p32g16"].value == 250.0 and m["tokens_per_s@p32g16"].unit == "tokens/s"
    assert m["prefill_tokens_per_s@p32"].value == pytest.approx(1500.0)
    assert all(x.kind == "noisy" for x in m.values())


def test_translation_and_image_rates():
    m = {x.name: x.value for x in derived_metrics("translation", {"decoder_ms@s16": [1.0, 2.0, 4.0]}, {})}
    assert m == {"decoder_tokens_per_s@s16": 500.0}
    params = {"batch_sizes": {"b1": 1, "b4": 4}}
    m = {x.name: x.value for x in derived_metrics("single", {"latency_ms@b1": [10.0], "latency_ms@b4": [20.0]}, params)}
    assert m == {"items_per_s@b1": 100.0, "items_per_s@b4": 200.0}
    assert derived_metrics("single", {"latency_ms": [10.0]}, {}) == []  # no batch size known: nothing invented
