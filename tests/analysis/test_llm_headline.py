"""An llm cell's headline series: llama-bench's generation test at the smallest KV depth."""

from __future__ import annotations

from harness.analysis.run_table import headline_metric
from harness.analysis.thresholds import higher_is_better


def test_llm_cells_headline_generation_at_the_smallest_depth() -> None:
    assert headline_metric(["pp64@d0", "tg16@d512", "tg16@d0", "ttft64_ms", "kl_mean"]) == "tg16@d0"
    assert headline_metric(["tg128@d4096", "tg128@d1024"]) == "tg128@d1024"
    assert headline_metric(["latency_ms@b1", "tg16@d0"]) == "latency_ms@b1"


def test_tokens_per_second_are_higher_is_better_and_kl_lower() -> None:
    assert higher_is_better("pp512@d0") and higher_is_better("tg128@d4096") and higher_is_better("top1_agreement")
    assert not higher_is_better("kl_mean") and not higher_is_better("ppl") and not higher_is_better("ttft64_ms")
